"""Signed checkpoints: an owner downloads "the journal of <organization> was verified up to entry
#<seq>, whose hash is <hash>, at <time>", signed by the server (HMAC-SHA256 via django.core.signing,
its key derived from SECRET_KEY with this module's salt). Kept outside the database, it later
proves that history up to that point is unchanged (`verify_ledger --against checkpoint.json`):
even a whole chain rewritten and re-hashed by someone with the database's keys, which the chain
check alone cannot see, changes the hash of the checkpoint's entry.

Only a point a clean check vouched for (the ledger head's verified_seq/verified_hash) is signed.
"""

import json

from django.core import signing

SALT = "ledgerline.accounts.checkpoint"
# Called as hook(org, checkpoint) after the nightly checkpoint is signed (reminders sends it to the
# organization's webhooks subscribed to "ledger.checkpoint"); accounts imports no app above it.
CHECKPOINT_HOOKS: list = []
FIELDS = ("organization", "organization_id", "seq", "hash", "verified_at")


class CheckpointError(ValueError):
    pass


def make_checkpoint(org, head) -> dict:
    payload = {"organization": org.slug, "organization_id": org.pk, "seq": head.verified_seq,
               "hash": head.verified_hash, "verified_at": head.verified_at.isoformat()}
    return {**payload, "signature": signing.dumps(payload, salt=SALT, compress=False)}


def checkpoint_filename(checkpoint: dict) -> str:
    return f"checkpoint-{checkpoint['organization']}-{checkpoint['seq']}.json"


def mail_checkpoint(org, checkpoint: dict) -> int:
    """The nightly checkpoint, attached to one e-mail to the owners: kept in their mailboxes, outside
    the database, it later proves history up to it unchanged."""
    from accounts.notify import mail_owners

    name = checkpoint_filename(checkpoint)
    return mail_owners(
        org, f"{org.name}: signed ledger checkpoint at entry #{checkpoint['seq']}",
        (f"Attached: the signed checkpoint of {org.name}'s journal, verified up to entry #{checkpoint['seq']} "
         f"(hash {checkpoint['hash']}) on {checkpoint['verified_at']}.\n\n"
         "Keep it. Later, `manage.py verify_ledger --org "
         f"{org.slug} --against {name}` proves that the history up to that entry is unchanged, even if "
         "someone with the database's keys rewrote and re-hashed the chain.\n"),
        attachments=[(name, json.dumps(checkpoint, indent=2) + "\n", "application/json")])


def read_checkpoint(text: str) -> dict:
    """The checkpoint's signed content, or CheckpointError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"the checkpoint is not JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("signature"), str):
        raise CheckpointError("the checkpoint has no signature (not a Ledgerline checkpoint file)")
    try:
        signed = signing.loads(data["signature"], salt=SALT)
    except signing.BadSignature:
        raise CheckpointError("the checkpoint's signature is not valid: it was not made by this server, "
                              "or was changed") from None
    if not isinstance(signed, dict) or set(signed) != set(FIELDS):
        raise CheckpointError("the checkpoint's signed content is not a checkpoint")
    changed = [f for f in FIELDS if f in data and data[f] != signed[f]]
    if changed:
        raise CheckpointError(f"the checkpoint was edited: {', '.join(changed)} differ from what was signed")
    return signed


def check_against(org, checkpoint: dict) -> list[str]:
    """Problems (none: history up to the checkpoint is what it was). Run after a clean full check
    in the same transaction (the chain links every entry up to the checkpoint's)."""
    from accounts.models import JournalEntry

    if checkpoint["organization_id"] != org.pk:
        raise CheckpointError(f"the checkpoint belongs to another organization ({checkpoint['organization']}), "
                              f"not {org.slug}")
    seq = checkpoint["seq"]
    if seq == 0:
        return []
    stored = JournalEntry.objects.filter(organization=org, seq=seq).values_list("hash", flat=True).first()
    if stored is None:
        return [f"entry #{seq} of the checkpoint is no longer in the journal"]
    if stored != checkpoint["hash"]:
        return [f"entry #{seq}: its hash differs from the one signed in the checkpoint of "
                f"{checkpoint['verified_at']}: the history up to it was rewritten"]
    return []

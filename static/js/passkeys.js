// Passkeys (WebAuthn, accounts/passkeys.py): adding one on the two-factor page and using one in the
// second step of signing in. The server makes each challenge and checks each answer; this script
// only carries them between it and the browser's authenticator. Without JavaScript or WebAuthn the
// buttons stay hidden and the authenticator-app code works as before.
(() => {
  const root = document.querySelector("[data-passkey-options]");
  if (!root || !window.PublicKeyCredential || !navigator.credentials) return;
  const status = document.getElementById("passkey-status");
  const token = root.querySelector("[name=csrfmiddlewaretoken]").value;

  const toBytes = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const toText = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const say = (message, error) => {
    status.textContent = message;
    status.className = error ? "flash flash-error" : "flash flash-info";
    status.hidden = false;
  };
  const post = async (url, fields) => {
    const body = new URLSearchParams({ csrfmiddlewaretoken: token, ...fields });
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    const data = await response.json().catch(() => ({ error: root.dataset.failed }));
    if (!response.ok) throw new Error(data.error || root.dataset.failed);
    return data;
  };
  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: toBytes(d.id) }));

  const credentialJson = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify({ id: credential.id, rawId: toText(credential.rawId), type: credential.type, response,
                            clientExtensionResults: credential.getClientExtensionResults() });
  };

  const register = async () => {
    const options = await post(root.dataset.passkeyOptions, {});
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    const credential = await navigator.credentials.create({ publicKey: options });
    const name = (document.getElementById("id_passkey_name") || {}).value || "";
    const done = await post(root.dataset.passkeySubmit, { credential: credentialJson(credential), name });
    window.location.assign(done.redirect);
  };

  const signIn = async () => {
    const options = await post(root.dataset.passkeyOptions, {});
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    const credential = await navigator.credentials.get({ publicKey: options });
    const done = await post(root.dataset.passkeySubmit, { credential: credentialJson(credential) });
    window.location.assign(done.redirect);
  };

  const button = root.querySelector("[data-passkey-action]");
  button.hidden = false;
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    button.disabled = true;
    say(root.dataset.waiting, false);
    try {
      await (button.dataset.passkeyAction === "register" ? register() : signIn());
    } catch (error) {
      say(error && error.name === "NotAllowedError" ? root.dataset.cancelled : error.message, true);
      button.disabled = false;
    }
  });
})();

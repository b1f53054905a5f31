import factory
from factory.django import DjangoModelFactory

from accounts.models import Customer, Membership, Organization, Role, User

PASSWORD = "correct-horse-battery"  # every UserFactory user's


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    base_currency = "EUR"


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Faker("company")
    code = factory.Sequence(lambda n: f"C{n:04d}")
    billing_emails = factory.Sequence(lambda n: f"billing{n}@customer.example")
    currency = "EUR"


def make_org(owner=None, **fields):
    """An organization created the way sign-up creates it (chart of accounts and all)."""
    from accounts.services import create_organization

    owner = owner or UserFactory()
    n = OrganizationFactory._meta.next_sequence()
    fields.setdefault("name", f"Org {n}")
    fields.setdefault("slug", f"org-{n}")
    fields.setdefault("base_currency", "EUR")
    return create_organization(owner, **fields), owner


def add_member(org, role=Role.FINANCE, user=None):
    user = user or UserFactory()
    from ledger_site.tenancy import tenant_context

    with tenant_context(org):
        Membership.objects.create(organization=org, user=user, role=role)
    return user


class World:
    """The shared cast (issue 12): organization A with an owner, a finance member and a viewer;
    organization B with its own owner, the outsider. `a` and `b` are make_org fields for each."""

    def __init__(self, a=None, b=None):
        self.org, self.owner = make_org(**(a or {}))
        self.finance = add_member(self.org, Role.FINANCE)
        self.viewer = add_member(self.org, Role.VIEWER)
        self.other_org, self.outsider = make_org(**(b or {}))

    def user(self, role: str):
        """The member playing `role` (owner, finance, viewer, outsider); None for anonymous."""
        return None if role == "anonymous" else getattr(self, role)

    def client(self, role: str, **client_kwargs):
        """A test client signed in as `role` (not signed in for anonymous)."""
        from django.test import Client

        client = Client(**client_kwargs)
        user = self.user(role)
        if user is not None:
            client.force_login(user)
        return client

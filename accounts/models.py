from accounts.models_customer import Customer
from accounts.models_org import Invitation, LoginAttempt, Membership, Organization, Role, User

__all__ = ["Customer", "Invitation", "LoginAttempt", "Membership", "Organization", "Role", "User"]

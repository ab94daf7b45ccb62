"""All models, imported here so Alembic and `Base.metadata` see every table."""

from webapp.models.audit import AuditLog, AuditStream
from webapp.models.bank_accounts import BankAccount
from webapp.models.base import Base
from webapp.models.deposits import CardDeposit, StripeEvent
from webapp.models.idempotency import IdempotencyKey
from webapp.models.institutions import Institution, InstitutionSettlement
from webapp.models.kyc import KycSubmission, StoredImage
from webapp.models.ledger import HOUSE_ACCOUNTS, Account, Hold, JournalEntry, Posting
from webapp.models.payouts import Payout
from webapp.models.risk import RiskFlag
from webapp.models.sessions import LoginFailure, WebSession
from webapp.models.topups import Topup
from webapp.models.transactions import Transaction
from webapp.models.users import PasswordResetToken, RefreshToken, User
from webapp.models.verification import VerificationCode
from webapp.models.wallets import Wallet

__all__ = [
    "HOUSE_ACCOUNTS",
    "Account",
    "AuditLog",
    "AuditStream",
    "BankAccount",
    "Base",
    "CardDeposit",
    "Hold",
    "IdempotencyKey",
    "Institution",
    "InstitutionSettlement",
    "JournalEntry",
    "KycSubmission",
    "LoginFailure",
    "PasswordResetToken",
    "Payout",
    "Posting",
    "RefreshToken",
    "RiskFlag",
    "StoredImage",
    "StripeEvent",
    "Topup",
    "Transaction",
    "User",
    "VerificationCode",
    "Wallet",
    "WebSession",
]

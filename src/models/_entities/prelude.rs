pub use super::addresses::Entity as Addresses;
pub use super::dead_jobs::Entity as DeadJobs;
pub use super::idempotency_keys::Entity as IdempotencyKeys;
pub use super::mail_outbox::Entity as MailOutbox;
pub use super::refresh_tokens::Entity as RefreshTokens;
pub use super::sessions::Entity as Sessions;
pub use super::user_tokens::Entity as UserTokens;
pub use super::users::Entity as Users;

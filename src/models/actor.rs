//! Who did something, as the order timeline and the stock ledger record it.
use super::users::Model as User;
use crate::domain::role::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i32>,
    pub role: Option<Role>,
    /// What the timeline and ledger show: the user's e-mail with their role, or the job.
    pub label: String,
}

impl Actor {
    #[must_use]
    pub fn user(u: &User) -> Self {
        Self {
            user_id: Some(u.id),
            role: Some(u.role()),
            label: format!("{} ({})", u.email, u.role().as_str()),
        }
    }

    /// A scheduled job or the shop itself.
    #[must_use]
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            role: None,
            label: format!("system: {what}"),
        }
    }

    /// A job or the shop itself, not a person: it sees every order.
    #[must_use]
    pub const fn is_system(&self) -> bool {
        self.user_id.is_none()
    }

    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    #[must_use]
    pub fn is_staff(&self) -> bool {
        self.role.is_some_and(Role::is_staff)
    }
}

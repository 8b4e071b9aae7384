//! Who did something, as the order timeline and the stock ledger record it.
use super::{_entities::orders, users::Model as User};
use crate::domain::role::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i32>,
    /// The user's public id, as the audit log names who acted.
    pub user_pid: Option<uuid::Uuid>,
    pub role: Option<Role>,
    /// What the timeline and ledger show: the user's e-mail with their role, or the job.
    pub label: String,
    /// A job or the payment provider acting for the shop: it sees every order.
    system: bool,
    /// The one order a guest's token opened (its id).
    guest_order: Option<i32>,
}

impl Actor {
    #[must_use]
    pub fn user(u: &User) -> Self {
        Self {
            user_id: Some(u.id),
            user_pid: Some(u.pid),
            role: Some(u.role()),
            label: format!("{} ({})", u.email, u.role().as_str()),
            system: false,
            guest_order: None,
        }
    }

    /// A guest holding the secret token of `order`: its owner, and only of it.
    #[must_use]
    pub fn guest(order: &orders::Model) -> Self {
        Self {
            user_id: None,
            user_pid: None,
            role: None,
            label: format!("{} (guest)", order.email),
            system: false,
            guest_order: Some(order.id),
        }
    }

    /// A scheduled job or the shop itself.
    #[must_use]
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            user_pid: None,
            role: None,
            label: format!("system: {what}"),
            system: true,
            guest_order: None,
        }
    }

    /// A visitor who is not signed in: no rights of any kind.
    #[must_use]
    pub fn anonymous() -> Self {
        Self {
            user_id: None,
            user_pid: None,
            role: None,
            label: "anonymous".into(),
            system: false,
            guest_order: None,
        }
    }

    /// The same user seen as a shopper (their own orders only), for the shop's pages.
    #[must_use]
    pub fn as_shopper(mut self) -> Self {
        self.role = Some(Role::Customer);
        self
    }

    /// A job or the shop itself, not a person: it sees every order.
    #[must_use]
    pub const fn is_system(&self) -> bool {
        self.system
    }

    /// Who reads every customer's orders (API.md: staff and admin; not product managers).
    #[must_use]
    pub fn reads_all_orders(&self) -> bool {
        self.system || matches!(self.role, Some(Role::Staff | Role::Admin))
    }

    /// Whether `order` is this actor's own: placed from their account, or a guest's order whose
    /// token they hold.
    #[must_use]
    pub fn owns(&self, order: &orders::Model) -> bool {
        (self.user_id.is_some() && self.user_id == order.user_id)
            || self.guest_order == Some(order.id)
    }

    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }
}

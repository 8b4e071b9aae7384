//! `cargo loco task create_user email:<e> password:<p> role:<r> [first_name:<f>] [last_name:<l>]`
use async_trait::async_trait;
use loco_rs::{
    app::AppContext,
    task::{Task, TaskInfo, Vars},
    Error, Result,
};

use crate::{
    domain::{account::Registration, role::Role},
    models::accounts::{self, Origin},
};

pub struct CreateUser;

#[async_trait]
impl Task for CreateUser {
    fn task(&self) -> TaskInfo {
        TaskInfo {
            name: "create_user".to_string(),
            detail: "Create a verified user: email:<e> password:<p> role:<customer|staff|product_manager|admin> [first_name:<f>] [last_name:<l>]".to_string(),
        }
    }

    async fn run(&self, ctx: &AppContext, vars: &Vars) -> Result<()> {
        let get = |k: &str| vars.cli.get(k).map(String::as_str);
        let role: Role = get("role")
            .unwrap_or("customer")
            .parse()
            .map_err(|m: &str| Error::string(&format!("role: {m}")))?;
        let reg = Registration::parse(
            get("email").unwrap_or_default(),
            get("password").unwrap_or_default(),
            get("first_name").unwrap_or("Shop"),
            get("last_name").unwrap_or(if role == Role::Customer {
                "Customer"
            } else {
                "Staff"
            }),
            role,
        )
        .map_err(|e| {
            Error::string(&format!(
                "invalid user: {}",
                serde_json::to_string(&e).unwrap_or_default()
            ))
        })?;
        let user = accounts::register(ctx, reg, Origin::Provisioned)
            .await
            .map_err(|e| Error::string(&e.to_string()))?;
        println!("created {} {} ({})", user.role, user.email, user.pid);
        Ok(())
    }
}

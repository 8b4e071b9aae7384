//! Order lists page by keyset over a long history (issue 21): the order's id joins the time in
//! the three list indexes, so "the 20 orders before this one" is one range of an index, and a
//! numbered page skips index entries without reading the table.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (old name, new name, columns before `created_at`): all orders, own orders, by status.
const LISTS: [(&str, &str, Option<&str>); 3] = [
    ("idx_orders_created", "idx_orders_created_id", None),
    (
        "idx_orders_user_created",
        "idx_orders_user_created_id",
        Some("user_id"),
    ),
    (
        "idx_orders_status_created",
        "idx_orders_status_created_id",
        Some("status"),
    ),
];

fn create(name: &str, lead: Option<&str>, with_id: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(Alias::new("orders"));
    if let Some(c) = lead {
        idx.col(Alias::new(c));
    }
    idx.col(Alias::new("created_at"));
    if with_id {
        idx.col(Alias::new("id"));
    }
    idx.to_owned()
}

fn drop(name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table(Alias::new("orders"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (old, new, lead) in LISTS {
            m.create_index(create(new, lead, true)).await?;
            m.drop_index(drop(old)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (old, new, lead) in LISTS {
            m.create_index(create(old, lead, false)).await?;
            m.drop_index(drop(new)).await?;
        }
        Ok(())
    }
}

//! Shoppers follow their order pages live (issue 19): with the embedded live feed, each web
//! process that has listeners looks for timeline rows written since its last look, by time.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    CreatedAt,
}

const INDEX: &str = "idx_order_events_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(OrderEvents::Table)
                .col(OrderEvents::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(OrderEvents::Table)
                .to_owned(),
        )
        .await
    }
}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub order_id: i32,
    pub transaction_id: Option<i32>,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub restock: bool,
    pub cancels: bool,
    pub reason: String,
    pub actor: String,
    #[sea_orm(unique)]
    pub credit_note_number: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

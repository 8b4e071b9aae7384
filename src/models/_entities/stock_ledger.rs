use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub variant_id: i32,
    pub reason: String,
    pub stock_delta: i32,
    pub reserved_delta: i32,
    pub stock_after: i32,
    pub reserved_after: i32,
    pub order_id: Option<i32>,
    pub purchase_order_id: Option<i32>,
    pub note: String,
    pub actor: String,
    pub created_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refund_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub refund_id: i32,
    pub order_line_id: i32,
    pub quantity: i32,
    pub amount_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

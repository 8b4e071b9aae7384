use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_methods")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub zone_id: i32,
    pub name: String,
    pub carrier: String,
    pub price_cents: i64,
    pub free_from_cents: Option<i64>,
    pub min_subtotal_cents: Option<i64>,
    pub max_subtotal_cents: Option<i64>,
    pub max_weight_grams: Option<i64>,
    pub min_days: Option<i32>,
    pub max_days: Option<i32>,
    pub active: bool,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

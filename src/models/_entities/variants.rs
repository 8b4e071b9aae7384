use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "variants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub product_id: i32,
    #[sea_orm(unique)]
    pub sku: String,
    #[sea_orm(column_type = "Text")]
    pub options: String,
    pub price_cents: i64,
    pub stock: i32,
    pub reserved: i32,
    pub low_stock_threshold: i32,
    pub position: i32,
    pub weight_grams: Option<i64>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// The PostgreSQL-only `search_vector` column is deliberately not mapped: it is written by
/// `models::catalogue::search_index` and only ever read inside search SQL.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub seo_title: String,
    pub seo_description: String,
    pub category_id: Option<i32>,
    pub brand_id: Option<i32>,
    pub featured: bool,
    pub active: bool,
    #[sea_orm(column_type = "Text")]
    pub options: String,
    pub price_min_cents: i64,
    pub price_max_cents: i64,
    #[sea_orm(column_type = "Double")]
    pub rating: f64,
    pub review_count: i32,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

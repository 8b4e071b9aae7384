use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub filename: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub status: String,
    pub total_rows: i32,
    pub created_count: i32,
    pub updated_count: i32,
    #[sea_orm(column_type = "Text")]
    pub errors: String,
    pub update_stock: bool,
    pub created_by: Option<i32>,
    pub created_at: DateTimeWithTimeZone,
    pub started_at: Option<DateTimeWithTimeZone>,
    pub finished_at: Option<DateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

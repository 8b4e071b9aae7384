use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    #[sea_orm(unique)]
    pub number: i64,
    pub supplier: String,
    pub expected_at: Option<DateTimeWithTimeZone>,
    pub status: String,
    pub created_by: String,
    pub received_at: Option<DateTimeWithTimeZone>,
    pub received_by: Option<String>,
    pub cancelled_at: Option<DateTimeWithTimeZone>,
    pub cancelled_by: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

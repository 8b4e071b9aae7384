use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    pub order_id: i32,
    pub kind: String,
    pub status: String,
    pub amount_cents: i64,
    pub currency: String,
    pub provider: String,
    pub provider_ref: String,
    pub payment_ref: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub checkout_url: Option<String>,
    pub failure_reason: Option<String>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

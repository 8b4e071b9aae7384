use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pid: Uuid,
    #[sea_orm(unique)]
    pub number: i64,
    /// `None` for a guest's order (until its e-mail's owner registers and verifies it).
    pub user_id: Option<i32>,
    pub email: String,
    pub status: String,
    pub currency: String,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub tax_rate_bp: i32,
    pub price_mode: String,
    pub promo_code_id: Option<i32>,
    pub coupon: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub shipping_address: String,
    #[sea_orm(column_type = "Text")]
    pub billing_address: String,
    /// The method the order ships with, as it was at checkout (JSON); `None` before zones.
    #[sea_orm(column_type = "Text", nullable)]
    pub shipping_method: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub expires_at: Option<DateTimeWithTimeZone>,
    pub paid_at: Option<DateTimeWithTimeZone>,
    pub shipped_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    /// SHA-256 (hex) of a guest order's access token; the token itself is shown once.
    pub access_token_hash: Option<String>,
    /// What went back to the customer, summed over the order's succeeded refunds.
    pub refunded_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

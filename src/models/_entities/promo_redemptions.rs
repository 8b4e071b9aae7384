use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_redemptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub promo_code_id: i32,
    #[sea_orm(unique)]
    pub order_id: i32,
    /// `None` for a guest's order.
    pub user_id: Option<i32>,
    pub released_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

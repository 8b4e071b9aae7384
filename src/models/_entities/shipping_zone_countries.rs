use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_zone_countries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub zone_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub country: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

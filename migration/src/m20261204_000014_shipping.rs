//! Shipping by destination (issue 19): zones name countries, methods of a zone price a parcel
//! (a price, free from a threshold, for an order range and a weight limit). Variants get an
//! optional weight, and orders keep the method they were placed with (as JSON, like their
//! addresses: a method edited or deleted later does not change an order).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ShippingZones {
    Table,
    Id,
    Pid,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ShippingZoneCountries {
    Table,
    ZoneId,
    Country,
}

#[derive(DeriveIden)]
enum ShippingMethods {
    Table,
    Id,
    Pid,
    ZoneId,
    Name,
    Carrier,
    PriceCents,
    FreeFromCents,
    MinSubtotalCents,
    MaxSubtotalCents,
    MaxWeightGrams,
    MinDays,
    MaxDays,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    WeightGrams,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ShippingMethod,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ShippingZones::Table)
                .col(pk_auto(ShippingZones::Id))
                .col(uuid_uniq(ShippingZones::Pid))
                .col(string_len(ShippingZones::Name, 120))
                .col(timestamp_with_time_zone(ShippingZones::CreatedAt))
                .col(timestamp_with_time_zone(ShippingZones::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ShippingZoneCountries::Table)
                .col(integer(ShippingZoneCountries::ZoneId))
                .col(string_len(ShippingZoneCountries::Country, 2))
                .primary_key(
                    Index::create()
                        .col(ShippingZoneCountries::ZoneId)
                        .col(ShippingZoneCountries::Country),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ShippingZoneCountries::Table, ShippingZoneCountries::ZoneId)
                        .to(ShippingZones::Table, ShippingZones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Every quote starts from the destination country.
        m.create_index(
            Index::create()
                .name("idx_shipping_zone_countries_country")
                .table(ShippingZoneCountries::Table)
                .col(ShippingZoneCountries::Country)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ShippingMethods::Table)
                .col(pk_auto(ShippingMethods::Id))
                .col(uuid_uniq(ShippingMethods::Pid))
                .col(integer(ShippingMethods::ZoneId))
                .col(string_len(ShippingMethods::Name, 120))
                .col(string_len(ShippingMethods::Carrier, 80).default(""))
                .col(big_integer(ShippingMethods::PriceCents))
                .col(big_integer_null(ShippingMethods::FreeFromCents))
                .col(big_integer_null(ShippingMethods::MinSubtotalCents))
                .col(big_integer_null(ShippingMethods::MaxSubtotalCents))
                .col(big_integer_null(ShippingMethods::MaxWeightGrams))
                .col(integer_null(ShippingMethods::MinDays))
                .col(integer_null(ShippingMethods::MaxDays))
                .col(boolean(ShippingMethods::Active).default(true))
                .col(timestamp_with_time_zone(ShippingMethods::CreatedAt))
                .col(timestamp_with_time_zone(ShippingMethods::UpdatedAt))
                .check(Expr::col(ShippingMethods::PriceCents).gte(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(ShippingMethods::Table, ShippingMethods::ZoneId)
                        .to(ShippingZones::Table, ShippingZones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_shipping_methods_zone")
                .table(ShippingMethods::Table)
                .col(ShippingMethods::ZoneId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Variants::Table)
                .add_column(big_integer_null(Variants::WeightGrams))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(text_null(Orders::ShippingMethod))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .drop_column(Orders::ShippingMethod)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Variants::Table)
                .drop_column(Variants::WeightGrams)
                .to_owned(),
        )
        .await?;
        for t in [
            ShippingMethods::Table.into_iden(),
            ShippingZoneCountries::Table.into_iden(),
            ShippingZones::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

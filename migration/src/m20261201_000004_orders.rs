//! Cart, checkout and inventory tables: carts, promo codes, tax rates, orders with their lines
//! and timeline, the stock ledger, purchase orders, admin notifications, invoices and counters.
//!
//! Design:
//! - Orders freeze everything they were sold at (name, SKU, unit price, tax rate, price mode,
//!   the promo code's text): a later catalogue edit never changes a placed order.
//! - `order_lines` reference variants and products with RESTRICT, so a product that was ever
//!   ordered cannot be deleted, only deactivated (`models::catalogue::products::delete`).
//! - `stock_ledger` is append-only: one row per change of a variant's `stock` or `reserved`,
//!   with both deltas and the levels after the change, so the ledger explains every number.
//! - `promo_codes.used_count` is bumped by a conditional update (`used_count < usage_limit`),
//!   which is what stops two checkouts from both taking the last use; `promo_redemptions`
//!   records who used it for the per-customer limit and is released on cancel/expiry.
//! - `notifications.open_key` is unique and NULL once closed: "one open low-stock notification
//!   per variant" is a constraint, not a race between two stock checks.
//! - `counters` hands out gap-free numbers (orders, invoices) inside the transaction that uses
//!   them: a rolled-back checkout returns its number.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum TaxRates {
    Table,
    Id,
    Pid,
    Country,
    RateBp,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PromoCodes {
    Table,
    Id,
    Pid,
    Code,
    Kind,
    Value,
    MaxDiscountCents,
    MinSubtotalCents,
    StartsAt,
    EndsAt,
    UsageLimit,
    PerCustomerLimit,
    UsedCount,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    Pid,
    TokenHash,
    UserId,
    PromoCodeId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    Pid,
    CartId,
    VariantId,
    Quantity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Pid,
    Number,
    UserId,
    Email,
    Status,
    Currency,
    SubtotalCents,
    DiscountCents,
    ShippingCents,
    TaxCents,
    TotalCents,
    TaxRateBp,
    PriceMode,
    PromoCodeId,
    Coupon,
    ShippingAddress,
    BillingAddress,
    Carrier,
    TrackingNumber,
    ExpiresAt,
    PaidAt,
    ShippedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    ProductId,
    VariantId,
    Sku,
    Name,
    UnitPriceCents,
    Quantity,
    LineTotalCents,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    Event,
    Actor,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PromoRedemptions {
    Table,
    Id,
    PromoCodeId,
    OrderId,
    UserId,
    ReleasedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PurchaseOrders {
    Table,
    Id,
    Pid,
    Number,
    Supplier,
    ExpectedAt,
    Status,
    CreatedBy,
    ReceivedAt,
    ReceivedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PurchaseOrderLines {
    Table,
    Id,
    PurchaseOrderId,
    VariantId,
    Quantity,
    UnitCostCents,
}

#[derive(DeriveIden)]
enum StockLedger {
    Table,
    Id,
    Pid,
    VariantId,
    Reason,
    StockDelta,
    ReservedDelta,
    StockAfter,
    ReservedAfter,
    OrderId,
    PurchaseOrderId,
    Note,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    Pid,
    Kind,
    OpenKey,
    ProductId,
    VariantId,
    OrderId,
    Message,
    Stock,
    ReadAt,
    ClosedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    Pid,
    OrderId,
    Number,
    IssuedAt,
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    if unique {
        idx.unique();
    }
    for c in cols {
        idx.col(Alias::new(*c));
    }
    m.create_index(idx.to_owned()).await
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

/// The ledger starts with one `adjustment` row per variant that already holds stock, so in a
/// shop upgraded to this schema the ledger explains every level from the first day.
async fn opening_balances(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = m.get_database_backend();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT id, stock, reserved FROM variants WHERE stock <> 0 OR reserved <> 0",
        ))
        .await?;
    let now = chrono::Utc::now();
    for r in rows {
        let id: i32 = r.try_get("", "id")?;
        let stock: i32 = r.try_get("", "stock")?;
        let reserved: i32 = r.try_get("", "reserved")?;
        let insert = Query::insert()
            .into_table(StockLedger::Table)
            .columns([
                StockLedger::Pid,
                StockLedger::VariantId,
                StockLedger::Reason,
                StockLedger::StockDelta,
                StockLedger::ReservedDelta,
                StockLedger::StockAfter,
                StockLedger::ReservedAfter,
                StockLedger::Note,
                StockLedger::Actor,
                StockLedger::CreatedAt,
            ])
            .values_panic([
                sea_orm::prelude::Uuid::new_v4().into(),
                id.into(),
                "adjustment".into(),
                stock.into(),
                reserved.into(),
                stock.into(),
                reserved.into(),
                "opening balance".into(),
                "system: migration".into(),
                now.into(),
            ])
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(clippy::too_many_lines)]
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        m.create_table(
            Table::create()
                .table(Counters::Table)
                .col(string_len(Counters::Name, 32).primary_key())
                .col(big_integer(Counters::Value))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TaxRates::Table)
                .col(pk_auto(TaxRates::Id))
                .col(uuid_uniq(TaxRates::Pid))
                .col(string_len_uniq(TaxRates::Country, 2))
                .col(integer(TaxRates::RateBp))
                .col(string_len(TaxRates::Name, 80))
                .col(timestamp_with_time_zone(TaxRates::CreatedAt))
                .col(timestamp_with_time_zone(TaxRates::UpdatedAt))
                .check(Expr::col(TaxRates::RateBp).gte(0))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PromoCodes::Table)
                .col(pk_auto(PromoCodes::Id))
                .col(uuid_uniq(PromoCodes::Pid))
                .col(string_len_uniq(PromoCodes::Code, 40))
                .col(string_len(PromoCodes::Kind, 16))
                .col(big_integer(PromoCodes::Value))
                .col(big_integer_null(PromoCodes::MaxDiscountCents))
                .col(big_integer_null(PromoCodes::MinSubtotalCents))
                .col(timestamp_with_time_zone_null(PromoCodes::StartsAt))
                .col(timestamp_with_time_zone_null(PromoCodes::EndsAt))
                .col(integer_null(PromoCodes::UsageLimit))
                .col(integer_null(PromoCodes::PerCustomerLimit))
                .col(integer(PromoCodes::UsedCount).default(0))
                .col(boolean(PromoCodes::Active).default(true))
                .col(timestamp_with_time_zone(PromoCodes::CreatedAt))
                .col(timestamp_with_time_zone(PromoCodes::UpdatedAt))
                .check(Expr::col(PromoCodes::UsedCount).gte(0))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Carts::Table)
                .col(pk_auto(Carts::Id))
                .col(uuid_uniq(Carts::Pid))
                // Guest carts are found by the hash of their token; user carts by user.
                .col(string_len_null(Carts::TokenHash, 64).unique_key())
                .col(integer_null(Carts::UserId).unique_key())
                .col(integer_null(Carts::PromoCodeId))
                .col(timestamp_with_time_zone(Carts::CreatedAt))
                .col(timestamp_with_time_zone(Carts::UpdatedAt))
                .foreign_key(&mut fk(
                    (Carts::Table, Carts::UserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (Carts::Table, Carts::PromoCodeId),
                    (PromoCodes::Table, PromoCodes::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        index(m, "idx_carts_updated", Carts::Table, &["updated_at"], false).await?;

        m.create_table(
            Table::create()
                .table(CartItems::Table)
                .col(pk_auto(CartItems::Id))
                .col(uuid_uniq(CartItems::Pid))
                .col(integer(CartItems::CartId))
                .col(integer(CartItems::VariantId))
                .col(integer(CartItems::Quantity))
                .col(timestamp_with_time_zone(CartItems::CreatedAt))
                .col(timestamp_with_time_zone(CartItems::UpdatedAt))
                .check(Expr::col(CartItems::Quantity).gt(0))
                .foreign_key(&mut fk(
                    (CartItems::Table, CartItems::CartId),
                    (Carts::Table, Carts::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (CartItems::Table, CartItems::VariantId),
                    (Variants::Table, Variants::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_cart_items_cart_variant",
            CartItems::Table,
            &["cart_id", "variant_id"],
            true,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(pk_auto(Orders::Id))
                .col(uuid_uniq(Orders::Pid))
                .col(big_integer_uniq(Orders::Number))
                .col(integer(Orders::UserId))
                .col(string_len(Orders::Email, 254))
                .col(string_len(Orders::Status, 16))
                .col(string_len(Orders::Currency, 3))
                .col(big_integer(Orders::SubtotalCents))
                .col(big_integer(Orders::DiscountCents))
                .col(big_integer(Orders::ShippingCents))
                .col(big_integer(Orders::TaxCents))
                .col(big_integer(Orders::TotalCents))
                .col(integer(Orders::TaxRateBp))
                .col(string_len(Orders::PriceMode, 16))
                .col(integer_null(Orders::PromoCodeId))
                .col(string_len_null(Orders::Coupon, 40))
                .col(text(Orders::ShippingAddress))
                .col(text(Orders::BillingAddress))
                .col(string_len_null(Orders::Carrier, 80))
                .col(string_len_null(Orders::TrackingNumber, 120))
                .col(timestamp_with_time_zone_null(Orders::ExpiresAt))
                .col(timestamp_with_time_zone_null(Orders::PaidAt))
                .col(timestamp_with_time_zone_null(Orders::ShippedAt))
                .col(timestamp_with_time_zone(Orders::CreatedAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .check(Expr::col(Orders::TotalCents).gte(0))
                .foreign_key(&mut fk(
                    (Orders::Table, Orders::UserId),
                    (Users::Table, Users::Id),
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    (Orders::Table, Orders::PromoCodeId),
                    (PromoCodes::Table, PromoCodes::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        // Own history, the admin list by status, and the expiry sweep (pending by expiry).
        index(
            m,
            "idx_orders_user_created",
            Orders::Table,
            &["user_id", "created_at"],
            false,
        )
        .await?;
        index(
            m,
            "idx_orders_status_created",
            Orders::Table,
            &["status", "created_at"],
            false,
        )
        .await?;
        index(
            m,
            "idx_orders_status_expires",
            Orders::Table,
            &["status", "expires_at"],
            false,
        )
        .await?;
        index(
            m,
            "idx_orders_created",
            Orders::Table,
            &["created_at"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderLines::Table)
                .col(pk_auto(OrderLines::Id))
                .col(integer(OrderLines::OrderId))
                .col(integer(OrderLines::ProductId))
                .col(integer(OrderLines::VariantId))
                .col(string_len(OrderLines::Sku, 64))
                .col(string_len(OrderLines::Name, 400))
                .col(big_integer(OrderLines::UnitPriceCents))
                .col(integer(OrderLines::Quantity))
                .col(big_integer(OrderLines::LineTotalCents))
                .check(Expr::col(OrderLines::Quantity).gt(0))
                .foreign_key(&mut fk(
                    (OrderLines::Table, OrderLines::OrderId),
                    (Orders::Table, Orders::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (OrderLines::Table, OrderLines::ProductId),
                    (Products::Table, Products::Id),
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    (OrderLines::Table, OrderLines::VariantId),
                    (Variants::Table, Variants::Id),
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_order_lines_order",
            OrderLines::Table,
            &["order_id"],
            false,
        )
        .await?;
        index(
            m,
            "idx_order_lines_variant",
            OrderLines::Table,
            &["variant_id"],
            false,
        )
        .await?;
        index(
            m,
            "idx_order_lines_product",
            OrderLines::Table,
            &["product_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderEvents::Table)
                .col(pk_auto(OrderEvents::Id))
                .col(integer(OrderEvents::OrderId))
                .col(string_len_null(OrderEvents::FromStatus, 16))
                .col(string_len(OrderEvents::ToStatus, 16))
                .col(string_len(OrderEvents::Event, 16))
                .col(string_len(OrderEvents::Actor, 300))
                .col(text(OrderEvents::Note).default(""))
                .col(timestamp_with_time_zone(OrderEvents::CreatedAt))
                .foreign_key(&mut fk(
                    (OrderEvents::Table, OrderEvents::OrderId),
                    (Orders::Table, Orders::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_order_events_order",
            OrderEvents::Table,
            &["order_id", "id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PromoRedemptions::Table)
                .col(pk_auto(PromoRedemptions::Id))
                .col(integer(PromoRedemptions::PromoCodeId))
                .col(integer(PromoRedemptions::OrderId).unique_key())
                .col(integer(PromoRedemptions::UserId))
                .col(timestamp_with_time_zone_null(PromoRedemptions::ReleasedAt))
                .col(timestamp_with_time_zone(PromoRedemptions::CreatedAt))
                .foreign_key(&mut fk(
                    (PromoRedemptions::Table, PromoRedemptions::PromoCodeId),
                    (PromoCodes::Table, PromoCodes::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (PromoRedemptions::Table, PromoRedemptions::OrderId),
                    (Orders::Table, Orders::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_promo_redemptions_code_user",
            PromoRedemptions::Table,
            &["promo_code_id", "user_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PurchaseOrders::Table)
                .col(pk_auto(PurchaseOrders::Id))
                .col(uuid_uniq(PurchaseOrders::Pid))
                .col(big_integer_uniq(PurchaseOrders::Number))
                .col(string_len(PurchaseOrders::Supplier, 200))
                .col(timestamp_with_time_zone_null(PurchaseOrders::ExpectedAt))
                .col(string_len(PurchaseOrders::Status, 16))
                .col(string_len(PurchaseOrders::CreatedBy, 300))
                .col(timestamp_with_time_zone_null(PurchaseOrders::ReceivedAt))
                .col(string_len_null(PurchaseOrders::ReceivedBy, 300))
                .col(timestamp_with_time_zone(PurchaseOrders::CreatedAt))
                .col(timestamp_with_time_zone(PurchaseOrders::UpdatedAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_purchase_orders_status",
            PurchaseOrders::Table,
            &["status", "created_at"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PurchaseOrderLines::Table)
                .col(pk_auto(PurchaseOrderLines::Id))
                .col(integer(PurchaseOrderLines::PurchaseOrderId))
                .col(integer(PurchaseOrderLines::VariantId))
                .col(integer(PurchaseOrderLines::Quantity))
                .col(big_integer(PurchaseOrderLines::UnitCostCents))
                .check(Expr::col(PurchaseOrderLines::Quantity).gt(0))
                .check(Expr::col(PurchaseOrderLines::UnitCostCents).gte(0))
                .foreign_key(&mut fk(
                    (
                        PurchaseOrderLines::Table,
                        PurchaseOrderLines::PurchaseOrderId,
                    ),
                    (PurchaseOrders::Table, PurchaseOrders::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (PurchaseOrderLines::Table, PurchaseOrderLines::VariantId),
                    (Variants::Table, Variants::Id),
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_purchase_order_lines_po",
            PurchaseOrderLines::Table,
            &["purchase_order_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(StockLedger::Table)
                .col(pk_auto(StockLedger::Id))
                .col(uuid_uniq(StockLedger::Pid))
                .col(integer(StockLedger::VariantId))
                .col(string_len(StockLedger::Reason, 16))
                .col(integer(StockLedger::StockDelta))
                .col(integer(StockLedger::ReservedDelta))
                .col(integer(StockLedger::StockAfter))
                .col(integer(StockLedger::ReservedAfter))
                .col(integer_null(StockLedger::OrderId))
                .col(integer_null(StockLedger::PurchaseOrderId))
                .col(string_len(StockLedger::Note, 500).default(""))
                .col(string_len(StockLedger::Actor, 300))
                .col(timestamp_with_time_zone(StockLedger::CreatedAt))
                // A deleted product takes its history with it; products with orders are never
                // deleted (order lines RESTRICT), so sold stock keeps its explanation.
                .foreign_key(&mut fk(
                    (StockLedger::Table, StockLedger::VariantId),
                    (Variants::Table, Variants::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (StockLedger::Table, StockLedger::OrderId),
                    (Orders::Table, Orders::Id),
                    SetNull,
                ))
                .foreign_key(&mut fk(
                    (StockLedger::Table, StockLedger::PurchaseOrderId),
                    (PurchaseOrders::Table, PurchaseOrders::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_stock_ledger_variant",
            StockLedger::Table,
            &["variant_id", "id"],
            false,
        )
        .await?;
        index(
            m,
            "idx_stock_ledger_order",
            StockLedger::Table,
            &["order_id"],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk_auto(Notifications::Id))
                .col(uuid_uniq(Notifications::Pid))
                .col(string_len(Notifications::Kind, 32))
                .col(string_len_null(Notifications::OpenKey, 80).unique_key())
                .col(integer_null(Notifications::ProductId))
                .col(integer_null(Notifications::VariantId))
                .col(integer_null(Notifications::OrderId))
                .col(string_len(Notifications::Message, 500))
                .col(integer_null(Notifications::Stock))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .col(timestamp_with_time_zone_null(Notifications::ClosedAt))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .foreign_key(&mut fk(
                    (Notifications::Table, Notifications::ProductId),
                    (Products::Table, Products::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (Notifications::Table, Notifications::VariantId),
                    (Variants::Table, Variants::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    (Notifications::Table, Notifications::OrderId),
                    (Orders::Table, Orders::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_notifications_created",
            Notifications::Table,
            &["created_at"],
            false,
        )
        .await?;

        // Foreign keys that cascade or set null get an index, so deleting a product, variant,
        // order or promo code never scans these tables.
        for (name, table, cols) in [
            (
                "idx_notifications_product",
                Notifications::Table.into_iden(),
                &["product_id"][..],
            ),
            (
                "idx_notifications_variant",
                Notifications::Table.into_iden(),
                &["variant_id"][..],
            ),
            (
                "idx_notifications_order",
                Notifications::Table.into_iden(),
                &["order_id"][..],
            ),
            (
                "idx_cart_items_variant",
                CartItems::Table.into_iden(),
                &["variant_id"][..],
            ),
            (
                "idx_carts_promo",
                Carts::Table.into_iden(),
                &["promo_code_id"][..],
            ),
            (
                "idx_orders_promo",
                Orders::Table.into_iden(),
                &["promo_code_id"][..],
            ),
            (
                "idx_purchase_order_lines_variant",
                PurchaseOrderLines::Table.into_iden(),
                &["variant_id"][..],
            ),
            (
                "idx_stock_ledger_purchase_order",
                StockLedger::Table.into_iden(),
                &["purchase_order_id"][..],
            ),
        ] {
            index(m, name, table, cols, false).await?;
        }

        m.create_table(
            Table::create()
                .table(Invoices::Table)
                .col(pk_auto(Invoices::Id))
                .col(uuid_uniq(Invoices::Pid))
                .col(integer(Invoices::OrderId).unique_key())
                .col(big_integer_uniq(Invoices::Number))
                .col(timestamp_with_time_zone(Invoices::IssuedAt))
                .foreign_key(&mut fk(
                    (Invoices::Table, Invoices::OrderId),
                    (Orders::Table, Orders::Id),
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        opening_balances(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Invoices::Table.into_iden(),
            Notifications::Table.into_iden(),
            StockLedger::Table.into_iden(),
            PurchaseOrderLines::Table.into_iden(),
            PurchaseOrders::Table.into_iden(),
            PromoRedemptions::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderLines::Table.into_iden(),
            Orders::Table.into_iden(),
            CartItems::Table.into_iden(),
            Carts::Table.into_iden(),
            PromoCodes::Table.into_iden(),
            TaxRates::Table.into_iden(),
            Counters::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

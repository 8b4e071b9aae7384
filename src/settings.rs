//! Typed application settings, read once from the `settings:` block of `config/<env>.yaml`.
//!
//! Every runtime-mode switch of PRODUCT.md (jobs, mail, rate-limit store, cookie security)
//! lives here, so production differs from the embedded default by configuration only.
use std::sync::Arc;

use loco_rs::app::AppContext;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub shop_name: String,
    /// Who sells, as invoices must say.
    #[serde(default)]
    pub seller: SellerSettings,
    /// ISO 4217 code of the one shop currency.
    pub currency: String,
    /// Public origin used in mail links and pagination URLs, without a trailing slash.
    pub base_url: String,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub jobs: JobSettings,
    pub mail: MailSettings,
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    #[serde(default)]
    pub sessions: SessionSettings,
    /// Create a demo admin (and later the demo catalogue) on the first start.
    #[serde(default)]
    pub seed_demo: bool,
    /// With the demo catalogue, also a month of orders through the real use-cases (customers,
    /// guests, payments, shipments, refunds), so the dashboard and reports have something to show.
    #[serde(default)]
    pub demo_history: bool,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub storage: StorageSettings,
    #[serde(default)]
    pub images: ImageLimits,
    /// How long cached catalogue reads live at most (writes invalidate them at once).
    #[serde(default = "default_catalogue_cache_secs")]
    pub catalogue_cache_secs: u64,
    #[serde(default)]
    pub checkout: CheckoutSettings,
    #[serde(default)]
    pub payments: PaymentSettings,
    #[serde(default)]
    pub webhooks: WebhookSettings,
    #[serde(default)]
    pub live: LiveSettings,
    #[serde(default)]
    pub imports: ImportLimits,
    /// Proxies (addresses or CIDR networks, comma-separated) whose `X-Forwarded-For` names the
    /// client; empty: the connection's peer is the client.
    #[serde(default)]
    pub trusted_proxies: String,
    /// Browser origins allowed to call the API (`CORS_ALLOWED_ORIGINS`, comma-separated;
    /// [`crate::web::cors`]); empty: none, and the API answers no CORS headers.
    #[serde(default)]
    pub cors_allowed_origins: String,
    /// Key that seals stored secrets (`crate::sealing`); outside production, derived from the
    /// JWT secret when empty.
    #[serde(default)]
    pub secrets_key: String,
    /// Refuse to start with an unsafe configuration ([`Self::production_problems`]), whatever
    /// the environment is called: `config/production.yaml` sets it, so an environment made
    /// from a copy of it (staging) is checked too.
    #[serde(default)]
    pub refuse_unsafe_config: bool,
    /// How long a stopping web process lets the requests in flight finish (SIGTERM).
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// How long a request may take to its answer's headers before it is dropped with a 503
    /// (`web::deadline`); 0 turns the deadline off.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

const fn default_shutdown_grace_secs() -> u64 {
    20
}

const fn default_request_timeout_secs() -> u64 {
    30
}

/// Outgoing webhook deliveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow endpoints on loopback and private networks (development and tests only: in
    /// production it would let an admin account probe the shop's own network).
    pub allow_private_targets: bool,
    /// One deadline for connecting, sending and reading the answer.
    pub timeout_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LiveBackendKind {
    /// Each web process watches the database for new orders and notifications (embedded
    /// default: no other service, and it sees what the scheduler's task processes wrote).
    Database,
    /// Redis pub/sub: whichever process makes the change publishes it to every web process.
    Redis,
}

/// Live updates of the admin (new orders and notifications over server-sent events).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveSettings {
    pub backend: LiveBackendKind,
    pub redis_url: String,
    /// Redis channel; several shops can share one Redis.
    pub channel: String,
    /// How often the database backend looks for new rows while someone is listening.
    pub poll_millis: u64,
    /// How often an open stream checks that its listener may still listen (signed in, role).
    pub recheck_secs: u64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            backend: LiveBackendKind::Database,
            redis_url: "redis://127.0.0.1:6379/0".into(),
            channel: "emporium:live".into(),
            poll_millis: 2000,
            recheck_secs: 60,
        }
    }
}

/// Product CSV imports.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportLimits {
    pub max_bytes: usize,
    pub max_rows: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            max_rows: 20_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProviderKind {
    /// The built-in test provider: a local pay/decline page, no keys (embedded default).
    #[default]
    Test,
    /// Stripe Checkout with signed webhooks.
    Stripe,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    pub provider: PaymentProviderKind,
    /// Lets production run the test provider (a staging shop); refused at boot otherwise.
    pub allow_test_provider: bool,
    pub stripe: StripeSettings,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StripeSettings {
    /// `sk_live_…` / `sk_test_…`.
    pub secret_key: String,
    /// The webhook endpoint's signing secret, `whsec_…`.
    pub webhook_secret: String,
    /// Empty for api.stripe.com; a local fake's address in tests.
    pub api_base: String,
}

/// The seller's legal details printed on invoices.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SellerSettings {
    /// The registered name; the shop name when empty.
    pub legal_name: String,
    /// The postal address, lines separated by `;`.
    pub address: String,
    /// VAT identification number (or other tax id), when the seller has one.
    pub vat_id: String,
}

impl SellerSettings {
    /// The address as printed, one entry a line.
    #[must_use]
    pub fn address_lines(&self) -> Vec<String> {
        self.address
            .split(';')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Cart and checkout rules of the shop (PRODUCT.md "Cart, checkout, orders").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckoutSettings {
    /// Whether catalogue prices include tax.
    pub price_mode: crate::domain::pricing::PriceMode,
    /// What the tax is called next to prices ("incl. VAT").
    pub tax_name: String,
    /// The flat shipping fee, in minor units.
    pub shipping_fee_cents: i64,
    /// Shipping is free from this (discounted) subtotal; `None`: never free.
    pub free_shipping_from_cents: Option<i64>,
    /// How long an unpaid order keeps its reservation.
    pub order_ttl_minutes: i64,
    /// Unpaid orders one customer may have at once; the next checkout answers 409.
    pub max_pending_orders: u64,
    /// The country whose tax rate carts are estimated with until an address is known.
    #[serde(deserialize_with = "country_code")]
    pub default_country: String,
    /// The countries orders may be shipped to (ISO 3166-1 codes, a list or one comma-separated
    /// string); empty: every country.
    #[serde(deserialize_with = "country_list")]
    pub ship_to: Vec<String>,
    /// Most units of one variant in a cart or order line.
    pub max_line_quantity: i32,
    /// Most distinct lines in one cart.
    pub max_cart_lines: usize,
    /// Guest carts untouched for this long are deleted by the purge task.
    pub guest_cart_days: i64,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        Self {
            price_mode: crate::domain::pricing::PriceMode::TaxExclusive,
            tax_name: "VAT".into(),
            shipping_fee_cents: 495,
            free_shipping_from_cents: Some(5000),
            order_ttl_minutes: 15,
            max_pending_orders: 3,
            default_country: "DE".into(),
            ship_to: Vec::new(),
            max_line_quantity: 99,
            max_cart_lines: 50,
            guest_cart_days: 30,
        }
    }
}

/// One ISO 3166-1 code; a typo in the configuration stops the boot instead of meeting no tax
/// rate.
fn country_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let code = String::deserialize(d)?.trim().to_ascii_uppercase();
    if let Some(problem) = crate::domain::countries::problem(&code) {
        return Err(serde::de::Error::custom(format!(
            "country `{code}`: {problem}"
        )));
    }
    Ok(code)
}

fn country_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Codes {
        Joined(String),
        Listed(Vec<String>),
    }
    let joined = match Codes::deserialize(d)? {
        Codes::Joined(s) => s,
        Codes::Listed(l) => l.join(","),
    };
    crate::domain::countries::parse_list(&joined).map_err(|code| {
        serde::de::Error::custom(format!(
            "ship_to: `{code}` is not an ISO 3166-1 country code"
        ))
    })
}

impl CheckoutSettings {
    /// What prices include, said next to them: "incl. VAT" or "excl. VAT".
    #[must_use]
    pub fn price_note(&self) -> String {
        match self.price_mode {
            crate::domain::pricing::PriceMode::TaxInclusive => format!("incl. {}", self.tax_name),
            crate::domain::pricing::PriceMode::TaxExclusive => format!("excl. {}", self.tax_name),
        }
    }

    /// Whether orders may be shipped to `country` (an assigned ISO code).
    #[must_use]
    pub fn ships_to(&self, country: &str) -> bool {
        self.ship_to.is_empty() || self.ship_to.iter().any(|c| c == country)
    }

    #[must_use]
    pub const fn shipping(&self) -> crate::domain::pricing::Shipping {
        crate::domain::pricing::Shipping {
            fee_cents: self.shipping_fee_cents,
            free_from_cents: self.free_shipping_from_cents,
        }
    }
}

fn default_catalogue_cache_secs() -> u64 {
    300
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StorageBackendKind {
    /// Files under `local_dir`, served by the app through HMAC-signed expiring URLs.
    Local,
    /// An S3-compatible bucket through aws-sdk-s3, served through presigned GET URLs.
    S3,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    pub backend: StorageBackendKind,
    pub local_dir: String,
    /// Key for local URL signatures; empty means "derive from the JWT secret".
    pub signing_secret: String,
    /// Signed URLs stay valid for at least this long (and at most twice it): they are issued
    /// per time window so the same image keeps the same URL and browsers can cache it.
    pub url_ttl_secs: u64,
    pub s3: S3Settings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackendKind::Local,
            local_dir: "storage".into(),
            signing_secret: String::new(),
            url_ttl_secs: 3600,
            s3: S3Settings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Custom endpoint (MinIO, s3s, R2); empty for AWS itself.
    pub endpoint: String,
    /// Static credentials; empty means the standard AWS chain (env, profile, instance role).
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style addressing (`host/bucket/key`), needed by MinIO and most local servers.
    pub force_path_style: bool,
    /// Create the bucket on start when it does not exist (local servers, tests).
    pub create_bucket: bool,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: "emporium".into(),
            region: "us-east-1".into(),
            endpoint: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            force_path_style: true,
            create_bucket: false,
        }
    }
}

/// Upload limits for product images; `max_pixels` guards decoders against decompression bombs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageLimits {
    pub max_bytes: usize,
    pub max_dimension: u32,
    pub max_pixels: u64,
    pub max_per_product: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_dimension: 8000,
            max_pixels: 40_000_000,
            max_per_product: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub access_ttl_secs: u64,
    pub refresh_ttl_days: i64,
    pub verify_ttl_hours: i64,
    pub reset_ttl_minutes: i64,
    /// Failed logins per (email, client) inside the window before login answers 429.
    pub login_max_failures: u64,
    pub login_window_secs: u64,
    /// Staff accounts must set up two-factor login before they can use the admin or the API.
    pub require_staff_2fa: bool,
    /// Security mails (reset, sign-up, verification, e-mail change) of one kind to one address
    /// per window; past it they are silently not sent.
    pub mail_per_address: u64,
    /// Such mails asked for by one client per window; past it, 429.
    pub mail_per_client: u64,
    pub mail_window_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl_secs: 900,
            refresh_ttl_days: 30,
            verify_ttl_hours: 48,
            reset_ttl_minutes: 60,
            login_max_failures: 5,
            login_window_secs: 900,
            require_staff_2fa: false,
            mail_per_address: 3,
            mail_per_client: 20,
            mail_window_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobBackendKind {
    /// Run the job inside the enqueue call (tests: deterministic, same code path).
    Inline,
    /// A tokio worker pool inside the web process (embedded default).
    InProcess,
    /// rusty-sidekiq on Redis, consumed by the `worker` process.
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    pub backend: JobBackendKind,
    pub redis_url: String,
    pub queue: String,
    pub workers: usize,
    /// Attempts before a job is moved to the dead set.
    pub max_attempts: u32,
    /// First retry delay; each further retry doubles it.
    pub retry_base_secs: u64,
    /// How long a worker holds an outbox mail it is sending (and, beyond the request's own
    /// timeout, a webhook delivery): another worker or the sweep takes it over only after.
    /// It must outlast one attempt; a worker that died holding it delays the row this long.
    pub lease_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            backend: JobBackendKind::InProcess,
            redis_url: "redis://127.0.0.1:6379/0".into(),
            queue: "emporium".into(),
            workers: 2,
            max_attempts: 8,
            retry_base_secs: 2,
            lease_secs: 180,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    /// Keep mail in the outbox table only, readable at /admin/outbox.
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    #[default]
    None,
    Starttls,
    Implicit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    pub from: String,
    #[serde(default)]
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CounterStoreKind {
    Memory,
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Where rate-limit and login-throttle counters live; `redis` shares them between web nodes.
    pub store: CounterStoreKind,
    pub redis_url: String,
    pub window_secs: u64,
    pub anonymous: u64,
    pub customer: u64,
    pub staff: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            store: CounterStoreKind::Memory,
            redis_url: "redis://127.0.0.1:6379/0".into(),
            window_secs: 3600,
            anonymous: 100,
            customer: 1000,
            staff: 5000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Set the `Secure` cookie flag; on whenever the shop is served over https.
    pub secure_cookies: bool,
    pub ttl_days: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            ttl_days: 7,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest JSON or form body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
        }
    }
}

/// The JWT secrets committed in `config/development.yaml` and `config/test.yaml`: public, so
/// never acceptable in production.
const DEVELOPMENT_JWT_SECRETS: &[&str] = &[
    "ZGV2ZWxvcG1lbnQtb25seS1zZWNyZXQtY2hhbmdlLW1lLWluLXByb2R1Y3Rpb24=",
    "dGVzdC1vbmx5LXNlY3JldC1mb3ItZW1wb3JpdW0tdGVzdHMtMzItYnl0ZXM=",
    "YmVuY2htYXJrLW9ubHktc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg==",
];

impl Settings {
    /// Upload bodies may be as large as the largest upload (an image or a product CSV) plus
    /// room for the multipart framing.
    #[must_use]
    pub fn upload_body_limit(&self) -> usize {
        self.images.max_bytes.max(self.imports.max_bytes) + 64 * 1024
    }

    /// What makes this configuration unsafe to serve a real shop with; empty when nothing does.
    /// Each entry names the environment variable to set. Production refuses to start while
    /// any remain (`App::boot`), so a forgotten secret fails loudly at deploy time instead of
    /// leaving, say, webhook signatures checkable with an empty key.
    #[must_use]
    pub fn production_problems(&self, jwt_secret: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut need = |missing: bool, var: &str, why: &str| {
            if missing {
                problems.push(format!("{var} {why}"));
            }
        };
        need(
            jwt_secret.trim().len() < 32,
            "JWT_SECRET",
            "must be set to a random secret of at least 32 characters (it signs API access tokens)",
        );
        need(
            DEVELOPMENT_JWT_SECRETS.contains(&jwt_secret.trim()),
            "JWT_SECRET",
            "is the published development or test secret: set a secret of your own",
        );
        need(
            self.base_url.trim().is_empty(),
            "BASE_URL",
            "must be set to the shop's public origin (mail links point there)",
        );
        need(
            self.secrets_key.trim().len() < 32,
            "SECRETS_KEY",
            "must be set to a random secret of at least 32 characters (it seals webhook and two-factor secrets in the database)",
        );
        need(
            self.mail.transport == MailTransportKind::Outbox,
            "MAIL_TRANSPORT",
            "is `outbox`: mail would never leave the shop, and reset links would be readable by every admin; use `smtp`",
        );
        // A page served over plain HTTP can be rewritten on the way by anyone on the network,
        // who could then call the API in the shopper's browser; local development origins are
        // fine.
        let plain: Vec<&str> = self
            .cors_allowed_origins
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|o| o.starts_with("http://"))
            .filter(|o| {
                let host = o.trim_start_matches("http://");
                let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
                !matches!(host, "localhost" | "127.0.0.1")
            })
            .collect();
        need(
            !plain.is_empty(),
            "CORS_ALLOWED_ORIGINS",
            &format!(
                "lists plain-HTTP origins ({}): list https:// origins only",
                plain.join(", ")
            ),
        );
        match self.payments.provider {
            PaymentProviderKind::Stripe => {
                need(
                    self.payments.stripe.secret_key.trim().is_empty(),
                    "STRIPE_SECRET_KEY",
                    "must be set when PAYMENT_PROVIDER=stripe",
                );
                need(
                    self.payments.stripe.webhook_secret.trim().is_empty(),
                    "STRIPE_WEBHOOK_SECRET",
                    "must be set when PAYMENT_PROVIDER=stripe (without it no Stripe event can be verified)",
                );
            }
            PaymentProviderKind::Test => need(
                !self.payments.allow_test_provider,
                "PAYMENT_PROVIDER",
                "is `test`, whose page lets anyone mark an order paid: use `stripe`, or set \
                 PAYMENTS_ALLOW_TEST_PROVIDER=true for a staging shop",
            ),
        }
        problems
    }

    /// Parses the `settings:` block of the loaded config (as loaded, or as [`Self::pack`] left it).
    ///
    /// # Errors
    /// `loco_rs::Error` when the block is missing or has unknown or mistyped keys.
    pub fn from_config(config: &loco_rs::config::Config) -> loco_rs::Result<Self> {
        let invalid = |e: serde_json::Error| {
            loco_rs::Error::string(&format!("invalid `settings:` block: {e}"))
        };
        match &config.settings {
            None => Err(loco_rs::Error::string("config has no `settings:` block")),
            Some(serde_json::Value::String(packed)) => {
                serde_json::from_str(packed).map_err(invalid)
            }
            Some(tree) => serde_json::from_value(tree.clone()).map_err(invalid),
        }
    }

    /// Replaces the config's `settings:` tree by its JSON text. Axum clones the app context
    /// (and so the config) for every extractor and middleware of every request; cloning the
    /// tree was a fifth of the CPU time of a cached product read, cloning one string is not.
    /// Loco's CLI builds a second context from the same config, so the text stays readable.
    pub fn pack(config: &mut loco_rs::config::Config) {
        if let Some(tree @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) =
            config.settings.take()
        {
            config.settings = Some(serde_json::Value::String(tree.to_string()));
        }
    }

    /// The settings parsed at boot (stored in the shared store by `App::after_context`).
    ///
    /// # Panics
    /// Only if called before boot finished, which is a programming error.
    #[must_use]
    pub fn get(ctx: &AppContext) -> Arc<Self> {
        ctx.shared_store
            .get::<Arc<Self>>()
            .expect("settings are stored during boot")
    }
}

/// Why `base_url` does not lead to a server listening on `binding:port`, if it plainly does
/// not: empty, unparsable, or a local address on another port. (A public name may sit in
/// front of any port, so only local addresses are compared.)
#[must_use]
pub fn base_url_mismatch(base_url: &str, binding: &str, port: i32) -> Option<String> {
    let fix = "set BASE_URL to the address people open, e.g. http://localhost:PORT";
    let fix = fix.replace("PORT", &port.to_string());
    if base_url.trim().is_empty() {
        return Some(format!(
            "BASE_URL is empty: links in mails cannot be made; {fix}"
        ));
    }
    let Ok(url) = url::Url::parse(base_url) else {
        return Some(format!("BASE_URL `{base_url}` is not a URL; {fix}"));
    };
    let local = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0")
    );
    let listens_everywhere = matches!(binding, "0.0.0.0" | "::" | "[::]");
    let same_port = url.port_or_known_default().map(i32::from) == Some(port);
    (local && !same_port).then(|| {
        let on = if listens_everywhere {
            "localhost"
        } else {
            binding
        };
        format!("BASE_URL is {base_url} but the shop listens on {on}:{port}; {fix}")
    })
}

#[cfg(test)]
mod tests {
    use super::base_url_mismatch;

    #[test]
    fn a_local_base_url_on_another_port_is_named() {
        assert!(base_url_mismatch("http://localhost:5150", "localhost", 5150).is_none());
        assert!(base_url_mismatch("http://127.0.0.1:8080/", "0.0.0.0", 8080).is_none());
        assert!(base_url_mismatch("https://shop.example.com", "0.0.0.0", 5150).is_none());
        let w = base_url_mismatch("http://localhost:5150", "localhost", 5151).unwrap();
        assert!(
            w.contains("localhost:5151") && w.contains("http://localhost:5151"),
            "{w}"
        );
        assert!(base_url_mismatch("", "localhost", 5150)
            .unwrap()
            .contains("empty"));
        assert!(base_url_mismatch("localhost", "localhost", 5150).is_some());
    }
}

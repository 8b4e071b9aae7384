//! Mail templates (`templates/mail/<kind>/{subject,text,html}.t` plus a shared layout),
//! embedded in the binary at compile time and rendered with Tera.
use std::sync::OnceLock;

use include_dir::{include_dir, Dir};

use crate::{
    errors::{AppError, AppResult},
    settings::Settings,
};

static MAIL_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/mail");

fn engine() -> &'static tera::Tera {
    static ENGINE: OnceLock<tera::Tera> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut tera = tera::Tera::default();
        // HTML parts escape what they interpolate; subject and text parts are plain text.
        tera.autoescape_on(["html.t"]);
        let mut files = Vec::new();
        collect(&MAIL_DIR, &mut files);
        for (name, body) in files {
            tera.add_raw_template(&name, &body)
                .unwrap_or_else(|e| panic!("mail template {name} does not parse: {e}"));
        }
        tera
    })
}

fn collect(dir: &Dir<'static>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        if let Some(body) = file.contents_utf8() {
            out.push((
                file.path().to_string_lossy().replace('\\', "/"),
                body.to_string(),
            ));
        }
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders one mail kind with `vars` (plus `shop_name` and `base_url`).
///
/// # Errors
/// `AppError::Internal` when a template is missing or fails to render.
pub fn render(settings: &Settings, kind: &str, vars: &serde_json::Value) -> AppResult<Rendered> {
    let tera = engine();
    let mut ctx = tera::Context::from_serialize(vars).map_err(AppError::internal)?;
    ctx.insert("shop_name", &settings.shop_name);
    ctx.insert("base_url", &settings.base_url);
    let part = |name: &str| {
        tera.render(&format!("{kind}/{name}"), &ctx)
            .map_err(AppError::internal)
    };
    let subject = part("subject.t")?.trim().replace(['\r', '\n'], " ");
    let body_text = part("text.t")?;
    let body_html = part("html.t")?;
    let mut layout = tera::Context::new();
    layout.insert("shop_name", &settings.shop_name);
    layout.insert("base_url", &settings.base_url);
    layout.insert("subject", &subject);
    layout.insert("body_text", &body_text);
    layout.insert("body_html", &body_html);
    let text = tera
        .render("layout.text.t", &layout)
        .map_err(AppError::internal)?;
    let html = tera
        .render("layout.html.t", &layout)
        .map_err(AppError::internal)?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

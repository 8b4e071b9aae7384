//! Server-rendered SVG charts: no script, no CDN, styled by app.css classes (the CSP allows
//! no inline styles).
use chrono::NaiveDate;

use super::money;
use crate::models::reports::Period;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A bar per day: revenue, with the day's figures as each bar's tooltip and an accessible
/// summary as the chart's title.
#[must_use]
pub fn daily_sales(days: &[(NaiveDate, Period)], currency: &str) -> String {
    const W: i64 = 600;
    const H: i64 = 160;
    const GAP: i64 = 2;
    let n = i64::try_from(days.len().max(1)).unwrap_or(1);
    let bar = (W / n - GAP).max(1);
    let max = days
        .iter()
        .map(|(_, p)| p.revenue_cents)
        .max()
        .unwrap_or(0)
        .max(1);
    let total: i64 = days.iter().map(|(_, p)| p.revenue_cents).sum();
    let mut out = format!(
        r#"<svg class="chart" id="sales-chart" viewBox="0 0 {W} {}" role="img" aria-labelledby="sales-chart-title"><title id="sales-chart-title">{}</title>"#,
        H + 20,
        escape(&format!(
            "Sales per day over the last {} days, {} in all",
            days.len(),
            money::format(total, currency)
        )),
    );
    for (i, (day, p)) in days.iter().enumerate() {
        let x = i64::try_from(i).unwrap_or(0) * (bar + GAP);
        let h = if p.revenue_cents == 0 {
            1
        } else {
            (p.revenue_cents * H / max).max(2)
        };
        out.push_str(&format!(
            r#"<rect class="chart-bar{}" x="{x}" y="{}" width="{bar}" height="{h}"><title>{}</title></rect>"#,
            if p.revenue_cents == 0 { " empty" } else { "" },
            H - h,
            escape(&format!(
                "{}: {} ({} orders)",
                day.format("%b %-d"),
                money::format(p.revenue_cents, currency),
                p.orders
            )),
        ));
    }
    if let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) {
        out.push_str(&format!(
            r#"<text class="chart-label" x="0" y="{}">{}</text><text class="chart-label" x="{W}" y="{}" text-anchor="end">{}</text>"#,
            H + 16,
            first.format("%b %-d"),
            H + 16,
            last.format("%b %-d")
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_best_day_and_every_day_has_a_bar() {
        let d = |i| NaiveDate::from_ymd_opt(2026, 12, i).unwrap();
        let days = vec![
            (
                d(1),
                Period {
                    orders: 1,
                    revenue_cents: 1000,
                },
            ),
            (d(2), Period::default()),
            (
                d(3),
                Period {
                    orders: 2,
                    revenue_cents: 500,
                },
            ),
        ];
        let svg = daily_sales(&days, "EUR");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(
            svg.contains(r#"height="160""#),
            "the best day is full height"
        );
        assert!(
            svg.contains(r#"height="80""#),
            "half the revenue, half the height"
        );
        assert!(svg.contains("Dec 3: €5.00 (2 orders)"));
        assert!(svg.contains("€15.00 in all"));
    }
}

//! Where a request may send the browser next. A target taken from a request (`next` after
//! login, `back` on a form) is followed only when it is a plain path on this site; anything
//! else falls back to a page the caller names.
//!
//! Browsers are generous readers of `Location`: they drop tab, CR and LF anywhere in a URL
//! (so `/\t/evil.com` becomes `//evil.com`, another host), treat `\` as `/`, and read `//host`
//! as a host. So the rule is an allow-list of visible ASCII, not a block-list of tricks.

/// `target` if it is a local path that cannot leave the site, else `None`.
#[must_use]
pub fn local_path(target: &str) -> Option<&str> {
    let visible_ascii = target.bytes().all(|b| b.is_ascii_graphic());
    let ok = visible_ascii
        && target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && target.len() <= 2048;
    ok.then_some(target)
}

/// `target` when it is a safe local path, `fallback` otherwise.
#[must_use]
pub fn local_or<'a>(target: &'a str, fallback: &'a str) -> &'a str {
    local_path(target).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn plain_local_paths_are_followed() {
        for ok in [
            "/",
            "/account",
            "/admin/orders?status=paid&page=2",
            "/p/caf%C3%A9#top",
        ] {
            assert_eq!(local_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn anything_that_can_reach_another_host_or_break_the_header_is_refused() {
        for bad in [
            "",
            "account",
            "//evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/\r\n/evil.com",
            "/account\r\nSet-Cookie: x=1",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            " /account",
            "/ /evil.com",
            "/caf\u{e9}",
            "/\u{7f}",
            "/\0",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(3000))), None);
    }
}

//! Where a page of a long list starts, and how to read a numbered page cheaply.
//!
//! A list sorted newest first reads page `n` by skipping `(n - 1) × size` rows. Skipping is
//! linear in what is skipped, so a page in the back half is read from the other end (oldest
//! first, reversed): the last page of a million rows skips nothing. Pages reached by the
//! `next`/`previous` links skip nothing at all: they start next to a row the client saw.
use uuid::Uuid;

/// Where a page starts when the client came by a `next` or `previous` link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The rows that follow this one in the list's order.
    After(Uuid),
    /// The rows that precede this one.
    Before(Uuid),
}

/// Which rows of a list to read for a numbered page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Read in the list's own order (`true`) or from its end, reversed afterwards.
    pub forward: bool,
    /// Rows to skip in the reading direction.
    pub skip: u64,
    /// Rows to read; 0 for a page past the end.
    pub take: u64,
}

/// The window of page `page` (1-based) of `size` rows in a list of `count`.
#[must_use]
pub fn window(count: u64, page: u64, size: u64) -> Window {
    let start = page.saturating_sub(1).saturating_mul(size);
    if start >= count {
        return Window {
            forward: true,
            skip: 0,
            take: 0,
        };
    }
    let end = start.saturating_add(size).min(count);
    // Rows skipped reading forward: `start`; reading backward: `count - end`.
    if start <= count - end {
        Window {
            forward: true,
            skip: start,
            take: end - start,
        }
    } else {
        Window {
            forward: false,
            skip: count - end,
            take: end - start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_pages_read_forward_back_pages_from_the_end() {
        let w = |count, page| window(count, page, 20);
        assert_eq!(
            w(1_000_000, 1),
            Window {
                forward: true,
                skip: 0,
                take: 20
            }
        );
        assert_eq!(
            w(1_000_000, 2),
            Window {
                forward: true,
                skip: 20,
                take: 20
            }
        );
        // The last page skips nothing from the end.
        assert_eq!(
            w(1_000_000, 50_000),
            Window {
                forward: false,
                skip: 0,
                take: 20
            }
        );
        // A short last page: 45 rows, page 3 holds rows 40..45.
        assert_eq!(
            w(45, 3),
            Window {
                forward: false,
                skip: 0,
                take: 5
            }
        );
        // Page 2 of 45 (rows 20..40) is nearer the end: 5 rows from it.
        assert_eq!(
            w(45, 2),
            Window {
                forward: false,
                skip: 5,
                take: 20
            }
        );
        // Never more skipped than half the list.
        for page in 1..=50_000 {
            let x = w(1_000_000, page);
            assert!(x.skip <= 500_000 && x.take == 20, "{page}: {x:?}");
        }
    }

    #[test]
    fn past_the_end_reads_nothing() {
        assert_eq!(window(0, 1, 20).take, 0);
        assert_eq!(window(40, 3, 20).take, 0);
        assert_eq!(window(10, u64::MAX, 20).take, 0);
    }

    #[test]
    fn every_row_is_on_exactly_one_page() {
        for count in 0..70u64 {
            for size in 1..9u64 {
                let mut seen = Vec::new();
                for page in 1..=count.div_ceil(size).max(1) {
                    let x = window(count, page, size);
                    let rows: Vec<u64> = if x.forward {
                        (x.skip..x.skip + x.take).collect()
                    } else {
                        // Position from the end, back into the list's order.
                        (x.skip..x.skip + x.take)
                            .rev()
                            .map(|r| count - 1 - r)
                            .collect()
                    };
                    seen.extend(rows);
                }
                assert_eq!(seen, (0..count).collect::<Vec<_>>(), "{count}/{size}");
            }
        }
    }
}

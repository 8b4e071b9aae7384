//! Product image rules: which uploads are accepted (by content, never by file name), the
//! limits that keep a decoder safe from decompression bombs, and how renditions are made.
use std::io::Cursor;

use image::{imageops::FilterType, ImageFormat, ImageReader};

/// Rendition widths in pixels: thumbnail, card, full (PRODUCT.md "Catalogue").
pub const RENDITION_WIDTHS: [u32; 3] = [200, 600, 1200];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
        }
    }

    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
        }
    }

    const fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::WebP => ImageFormat::WebP,
        }
    }
}

/// The limits an upload and its decoding must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_dimension: u32,
    pub max_pixels: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("The file is empty.")]
    Empty,
    #[error("The file is larger than {max_bytes} bytes.")]
    TooLarge { max_bytes: usize },
    #[error("The file is not a JPEG, PNG or WebP image.")]
    NotAnImage,
    #[error("The image is {width}×{height} pixels; the limit is {max_dimension} pixels a side and {max_pixels} pixels in all.")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_dimension: u32,
        max_pixels: u64,
    },
}

/// What an accepted upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Checks an upload by its bytes: magic number, a readable header, and pixel limits read from
/// that header before anything is decoded.
///
/// # Errors
/// The first rule the upload breaks.
pub fn inspect(bytes: &[u8], limits: Limits) -> Result<Inspected, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(Rejection::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Format::Jpeg,
        Ok(ImageFormat::Png) => Format::Png,
        Ok(ImageFormat::WebP) => Format::WebP,
        _ => return Err(Rejection::NotAnImage),
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_dimensions()
        .map_err(|_| Rejection::NotAnImage)?;
    if width == 0
        || height == 0
        || width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(Rejection::TooManyPixels {
            width,
            height,
            max_dimension: limits.max_dimension,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(Inspected {
        format,
        width,
        height,
    })
}

/// One rendition: WebP bytes and their size.
#[derive(Debug, Clone)]
pub struct Rendition {
    /// The nominal width it serves (200, 600 or 1200).
    pub nominal: u32,
    pub width: u32,
    pub height: u32,
    pub webp: Vec<u8>,
}

/// Decodes the original (within `limits`) and makes one WebP per rendition width, never
/// enlarging: a 400 px original gives 200 px and two 400 px renditions. CPU-bound: call it on a
/// blocking thread.
///
/// # Errors
/// A message when the original cannot be decoded or encoded.
pub fn render(bytes: &[u8], format: Format, limits: Limits) -> Result<Vec<Rendition>, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    // RGBA8 of the largest accepted image, plus headroom for the decoder's own buffers.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(decoder_limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let (w, h) = (img.width(), img.height());
    let mut out = Vec::new();
    for nominal in RENDITION_WIDTHS {
        let tw = nominal.min(w);
        let th = u32::try_from((u64::from(h) * u64::from(tw)).div_ceil(u64::from(w)))
            .unwrap_or(1)
            .max(1);
        let resized = if tw == w {
            img.clone()
        } else {
            img.resize_exact(tw, th, FilterType::CatmullRom)
        };
        let mut buf = Cursor::new(Vec::new());
        // WebP through the `image` crate is lossless only; it needs no C library.
        image::DynamicImage::ImageRgba8(resized.to_rgba8())
            .write_to(&mut buf, ImageFormat::WebP)
            .map_err(|e| e.to_string())?;
        out.push(Rendition {
            nominal,
            width: tw,
            height: th,
            webp: buf.into_inner(),
        });
    }
    Ok(out)
}

/// A generated square PNG (640 px): a soft gradient in a colour chosen by `seed`, a shape and
/// bands of light; `n` shifts the colour and framing, for a product's second picture. Used by
/// the demo catalogue, so a first start needs no network.
///
/// # Panics
/// Never: encoding into memory cannot fail.
#[must_use]
pub fn illustration(seed: u64, n: u32) -> Vec<u8> {
    illustration_sized(seed, n, 640)
}

/// [`illustration`] at `SIZE` × `SIZE` pixels (the benchmark renders photo-sized ones).
///
/// # Panics
/// Never: encoding into memory cannot fail.
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn illustration_sized(seed: u64, n: u32, size: u32) -> Vec<u8> {
    let hue = ((seed % 360) as f32 + n as f32 * 40.0) % 360.0;
    let base = hsl(hue, 0.45, 0.78);
    let deep = hsl(hue, 0.5, 0.35);
    let accent = hsl((hue + 180.0) % 360.0, 0.55, 0.55);
    let round = (seed >> 12).is_multiple_of(2);
    let centre = size as f32 / 2.0;
    let radius = size as f32 * if n == 0 { 0.28 } else { 0.2 };
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let t = fy / size as f32;
        let mut c = mix(base, deep, t * 0.6);
        let (dx, dy) = (fx - centre, fy - centre * if n == 0 { 1.0 } else { 0.8 });
        let inside = if round {
            dx.hypot(dy) < radius
        } else {
            dx.abs() < radius && dy.abs() < radius * 0.8
        };
        if inside {
            c = mix(
                accent,
                deep,
                (dy / radius).clamp(-1.0, 1.0).mul_add(0.25, 0.25),
            );
        }
        if (fx + fy) % 160.0 < 12.0 && !inside {
            c = mix(c, [255.0, 255.0, 255.0], 0.18);
        }
        image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8))
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn hsl(h: f32, s: f32, l: f32) -> [f32; 3] {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 1 << 20,
        max_dimension: 1000,
        max_pixels: 500_000,
    };

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Png).unwrap();
        buf.into_inner()
    }

    #[test]
    fn accepts_by_content_and_reads_dimensions() {
        let got = inspect(&png(40, 30), LIMITS).unwrap();
        assert_eq!((got.format, got.width, got.height), (Format::Png, 40, 30));
    }

    #[test]
    fn rejects_non_images_and_bombs() {
        assert_eq!(inspect(b"", LIMITS), Err(Rejection::Empty));
        assert_eq!(inspect(b"GIF89a....", LIMITS), Err(Rejection::NotAnImage));
        assert_eq!(
            inspect(b"<svg xmlns=...>", LIMITS),
            Err(Rejection::NotAnImage)
        );
        // A PNG signature with a truncated header is not an image either.
        assert_eq!(
            inspect(&png(4, 4)[..12], LIMITS),
            Err(Rejection::NotAnImage)
        );
        assert!(matches!(
            inspect(&png(1001, 2), LIMITS),
            Err(Rejection::TooManyPixels { .. })
        ));
        assert!(matches!(
            inspect(&png(800, 700), LIMITS),
            Err(Rejection::TooManyPixels { .. })
        ));
        let small = Limits {
            max_bytes: 10,
            ..LIMITS
        };
        assert!(matches!(
            inspect(&png(4, 4), small),
            Err(Rejection::TooLarge { .. })
        ));
    }

    #[test]
    fn renders_webp_without_enlarging() {
        let r = render(&png(400, 100), Format::Png, LIMITS).unwrap();
        let sizes: Vec<(u32, u32, u32)> =
            r.iter().map(|r| (r.nominal, r.width, r.height)).collect();
        assert_eq!(
            sizes,
            vec![(200, 200, 50), (600, 400, 100), (1200, 400, 100)]
        );
        for x in &r {
            assert_eq!(image::guess_format(&x.webp).unwrap(), ImageFormat::WebP);
        }
    }
}

//! Thumbnails of image files (PNG, JPEG, GIF, WebP), made in the background and kept in
//! the brand's part of the file store beside the content they show (`previews/…`).
//!
//! An image is decoded only within limits set before decoding: at most
//! [`LARGEST_SOURCE`] bytes of file, [`LARGEST_SIDE`] pixels a side and [`DECODE_MEMORY`]
//! bytes of decoded image, so a decompression bomb (a small file that claims or unpacks to
//! a huge picture) is refused, not decoded. Each content is previewed once, whichever
//! files and versions share it; its state (`pending`, `ready`, `none`, `refused`) is kept
//! with it.

use std::io::Cursor;

use object_store::ObjectStoreExt as _;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::objects::{self, BrandFiles};
use crate::store::{TenantStore, now, on_tx};
use crate::work::files::files_of;

/// The longest side of a preview, in pixels.
pub const PREVIEW_SIDE: u32 = 320;

/// Files larger than this get no preview.
pub const LARGEST_SOURCE: i64 = 50 * 1024 * 1024;

/// Pictures wider or taller than this get no preview.
pub const LARGEST_SIDE: u32 = 12_000;

/// Memory a decoded picture may take.
pub const DECODE_MEMORY: u64 = 256 * 1024 * 1024;

/// Contents previewed per call of [`make_previews`].
const BATCH: i64 = 20;

/// What [`make_previews`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Previewed {
    /// Previews made.
    pub made: u64,
    /// Images refused (too large, a decompression bomb, or not a readable image).
    pub refused: u64,
}

/// Makes the previews still to be made (up to a batch at a time, until none is left).
#[tracing::instrument(skip_all)]
pub async fn make_previews(store: &TenantStore) -> Result<Previewed> {
    let files = files_of(store)?.clone();
    let mut done = Previewed::default();
    loop {
        let mut tx = store.read().await?;
        let pending: Vec<(String, i64)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select sha256, size_bytes from file_blobs where preview = 'pending' order by created_at limit $1",
            )
            .bind(BATCH)
            .fetch_all(conn)
            .await?
        });
        drop(tx);
        if pending.is_empty() {
            return Ok(done);
        }
        for (sha256, size) in pending {
            let state = match preview_one(&files, &sha256, size).await {
                Ok(()) => {
                    done.made += 1;
                    "ready"
                }
                Err(Error::Objects(error)) => return Err(Error::Objects(error)),
                Err(error) => {
                    tracing::info!(%sha256, %error, "no preview for an image");
                    done.refused += 1;
                    "refused"
                }
            };
            mark(store, &sha256, state, now()).await?;
        }
    }
}

async fn mark(store: &TenantStore, sha256: &str, state: &str, at: OffsetDateTime) -> Result<()> {
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query("update file_blobs set preview = $2, updated_at = $3 where sha256 = $1 and preview = 'pending'")
            .bind(sha256)
            .bind(state)
            .bind(at)
            .execute(conn)
            .await?;
    });
    tx.commit().await
}

async fn preview_one(files: &BrandFiles, sha256: &str, size: i64) -> Result<()> {
    if size > LARGEST_SOURCE {
        return Err(Error::Invalid(format!(
            "the image is larger than {LARGEST_SOURCE} bytes"
        )));
    }
    let bytes = files
        .objects
        .get(&objects::blob_path(sha256))
        .await?
        .bytes()
        .await?;
    let png = tokio::task::spawn_blocking(move || render(&bytes))
        .await
        .map_err(|e| Error::Invalid(format!("the previewer stopped: {e}")))??;
    files
        .objects
        .put(&objects::preview_path(sha256), png.into())
        .await?;
    Ok(())
}

/// A PNG of at most [`PREVIEW_SIDE`] pixels a side of the image in `bytes`, decoded within
/// the limits above.
pub fn render(bytes: &[u8]) -> Result<Vec<u8>> {
    let refused = |e: image::ImageError| Error::Invalid(format!("not previewed: {e}"));
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(LARGEST_SIDE);
    limits.max_image_height = Some(LARGEST_SIDE);
    limits.max_alloc = Some(DECODE_MEMORY);
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Invalid(format!("not previewed: {e}")))?;
    reader.limits(limits);
    let picture = reader.decode().map_err(refused)?;
    let thumbnail = picture.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE);
    let mut out = Vec::new();
    thumbnail
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(refused)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A small PNG whose header claims `width` × `height` pixels (a decompression bomb's
    /// shape: a few bytes that would unpack to gigabytes).
    pub(crate) fn claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        // The IHDR chunk: length (4), type (4), width, height at offsets 16 and 20.
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn a_picture_becomes_a_small_png() {
        let preview = render(&png(1200, 600)).unwrap();
        let shown = image::load_from_memory(&preview).unwrap();
        assert_eq!((shown.width(), shown.height()), (320, 160));
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_decoded() {
        for (width, height) in [(100_000, 100_000), (12_000, 12_000), (1, 5_000_000)] {
            let bomb = claiming(width, height);
            assert!(bomb.len() < 100, "a small file");
            let refused = render(&bomb);
            assert!(
                matches!(refused, Err(Error::Invalid(_))),
                "{width}x{height}: {refused:?}"
            );
        }
        assert!(render(b"not an image at all").is_err());
    }
}

//! Thumbnails of images: at most 320×320 pixels, PNG, made once at upload.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use object_store::path::Path;

use crate::storage::Storage;

/// The longest side of a thumbnail.
pub const SIDE: u32 = 320;
/// Memory a decoder may take: an image that needs more gets no thumbnail.
const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

/// Makes the thumbnail of the image at `source` and stores it at `target`;
/// `None` (logged) when the image cannot be decoded.
pub async fn make(storage: &Storage, source: &Path, target: &Path) -> Option<Path> {
    let bytes = match storage.get(source).await {
        Ok(got) => match got.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, "reading an image for its thumbnail failed");
                return None;
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "reading an image for its thumbnail failed");
            return None;
        }
    };
    let png = tokio::task::spawn_blocking(move || render(&bytes))
        .await
        .ok()?;
    let png = match png {
        Ok(png) => png,
        Err(e) => {
            tracing::info!(error = %e, "no thumbnail for an image that does not decode");
            return None;
        }
    };
    match storage.put(target, png.into()).await {
        Ok(()) => Some(target.clone()),
        Err(e) => {
            tracing::warn!(error = %e, "storing a thumbnail failed");
            None
        }
    }
}

/// The PNG thumbnail of an encoded image.
pub fn render(bytes: &[u8]) -> Result<Vec<u8>, image::ImageError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode()?;
    let thumbnail = image.thumbnail(SIDE, SIDE);
    let mut out = Cursor::new(Vec::new());
    thumbnail.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

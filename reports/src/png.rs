//! PNG encoding of the charts' RGB buffers with the `png` crate (already in the build through
//! plotters' bitmap encoder). plotters writes PNG only to files named `*.png`, which would
//! defeat the write-then-rename of [`crate::output`]; encoding the buffer ourselves keeps the
//! output in memory. Fast compression: charts are flat colours, so it costs little size.

/// PNG's eight-byte signature.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Encodes `rgb` (`width × height` pixels, 3 bytes each, rows top to bottom) as a PNG.
/// Fails when the buffer's length does not match the size.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let stride = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != stride * height as usize {
        return Err(format!(
            "{} bytes of RGB do not make a {width}×{height} image",
            rgb.len()
        ));
    }
    let mut out = Vec::with_capacity(rgb.len() / 16);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_an_image() {
        let (w, h) = (7u32, 5u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        let bytes = encode_rgb(w, h, &rgb).unwrap();
        assert_eq!(bytes[..8], SIGNATURE);
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (w, h));
        assert_eq!(&buf[..info.buffer_size()], rgb.as_slice());
        assert_eq!(encode_rgb(w, h, &rgb).unwrap(), bytes, "byte-stable");
        assert!(encode_rgb(w, h, &rgb[1..]).is_err());
        assert!(encode_rgb(0, h, &[]).is_err());
    }
}

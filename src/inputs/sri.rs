//! Conversion of Nix's base32 sha256 hashes (what `nix-prefetch-url` prints)
//! to SRI (`sha256-<base64>`, what the lock and `builtins.fetchTarball` use).

use base64::Engine as _;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a base32 sha256 hash as Nix prints it")]
pub struct InvalidHash(pub String);

/// `0h13sd…` (52 chars of Nix base32) → `sha256-…=`.
pub fn sha256_base32_to_sri(base32: &str) -> Result<String, InvalidHash> {
    let base32 = base32.trim();
    let invalid = || InvalidHash(base32.to_owned());
    // nix-base32 indexes out of bounds on other lengths; 52 chars = 32 bytes.
    if base32.len() != 52 {
        return Err(invalid());
    }
    let bytes = nix_base32::from_nix_base32(base32)
        .filter(|b| b.len() == 32)
        .ok_or_else(invalid)?;
    Ok(format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// `sha256-…` → the 32 digest bytes; `None` if it isn't a sha256 SRI hash.
pub fn sri_sha256_bytes(sri: &str) -> Option<Vec<u8>> {
    let encoded = sri.strip_prefix("sha256-")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    (bytes.len() == 32).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checked with Nix 2.8:
    //   nix-hash --type sha256 --to-base16 0h13sdbbbi3mddk3d1cxxcdyv8fk0v21gcja5jhxsziqs5gqh152
    //   (SRI = "sha256-" + base64 of those bytes: xxd -r -p | base64)
    const BASE32: &str = "0h13sdbbbi3mddk3d1cxxcdyv8fk0v21gcja5jhxsziqs5gqh152";
    const BASE16: &str = "a204885fd1387edda12c4ab217c406d3a1ed1beb9d8536666b75c4b556d32340";
    const SRI: &str = "sha256-ogSIX9E4ft2hLEqyF8QG06HtG+udhTZma3XEtVbTI0A=";

    #[test]
    fn base32_to_sri_matches_nix() {
        assert_eq!(sha256_base32_to_sri(BASE32).unwrap(), SRI);
        let bytes = sri_sha256_bytes(SRI).unwrap();
        assert_eq!(base16ct::lower::encode_string(&bytes), BASE16);
    }

    #[test]
    fn rejects_malformed_hashes() {
        for bad in [
            "",
            "xyz",
            &BASE32[1..],
            &format!("{BASE32}0"),
            &BASE32.replace('0', "e"),
        ] {
            assert!(sha256_base32_to_sri(bad).is_err(), "{bad}");
        }
        assert_eq!(sri_sha256_bytes("sha512-AAAA"), None);
    }
}

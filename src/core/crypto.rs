//! Encryption at rest for message content: XChaCha20-Poly1305 (an authenticated
//! cipher, RustCrypto's `chacha20poly1305`) with a random 24-byte nonce per message,
//! so random nonces never repeat in practice. The stored text is
//! `xc1:<base64(nonce || ciphertext)>`; the prefix names the scheme so a later key
//! rotation can add `xc2:` without guessing. The associated data binds a ciphertext
//! to its row (conversation and sequence): a ciphertext copied into another row
//! does not decrypt.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;

use super::{Error, Result};

const PREFIX: &str = "xc1:";
const NONCE_LEN: usize = 24;

/// The message cipher, built once from config (`MESSAGE_ENCRYPTION_KEY`).
#[derive(Clone)]
pub struct MessageCipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for MessageCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageCipher(***)")
    }
}

impl MessageCipher {
    /// A cipher from a 256-bit key written as 64 hex characters.
    pub fn from_hex(hex: &str) -> std::result::Result<Self, String> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.is_ascii() {
            return Err("MESSAGE_ENCRYPTION_KEY must be 64 hex characters (32 bytes)".into());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "MESSAGE_ENCRYPTION_KEY must be hexadecimal".to_owned())?;
        }
        Ok(Self::from_key(&key))
    }

    /// A cipher with a random key: ciphertexts become unreadable when the process
    /// ends, which is why config should provide the key.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::from_key(&key)
    }

    fn from_key(key: &[u8; 32]) -> Self {
        MessageCipher {
            aead: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Encrypts `plaintext`, bound to `aad`, into the stored text form.
    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| Error::internal("message encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypts a stored text made by [`MessageCipher::seal`] with the same `aad`.
    /// Fails on a wrong key, a tampered or moved ciphertext, or a foreign format.
    pub fn open(&self, stored: &str, aad: &[u8]) -> std::result::Result<String, &'static str> {
        let b64 = stored.strip_prefix(PREFIX).ok_or("unknown format")?;
        let raw = STANDARD.decode(b64).map_err(|_| "not base64")?;
        if raw.len() < NONCE_LEN {
            return Err("too short");
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plain = self
            .aead
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| "authentication failed")?;
        String::from_utf8(plain).map_err(|_| "not UTF-8")
    }
}

/// The associated data of a message's content: its conversation and sequence.
pub fn message_aad(conversation_id: i64, seq: i64) -> Vec<u8> {
    format!("msg:{conversation_id}:{seq}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn round_trip_and_binding() {
        let c = MessageCipher::from_hex(KEY).unwrap();
        let sealed = c.seal("hello", b"a").unwrap();
        assert!(sealed.starts_with("xc1:") && !sealed.contains("hello"));
        assert_eq!(c.open(&sealed, b"a").unwrap(), "hello");
        assert!(c.open(&sealed, b"b").is_err(), "bound to its row");
        assert_ne!(sealed, c.seal("hello", b"a").unwrap(), "fresh nonce");
        let other = MessageCipher::random();
        assert!(other.open(&sealed, b"a").is_err(), "wrong key");
    }

    #[test]
    fn keys_are_checked() {
        assert!(MessageCipher::from_hex("abc").is_err());
        assert!(MessageCipher::from_hex(&"zz".repeat(32)).is_err());
        assert!(format!("{:?}", MessageCipher::random()).contains("***"));
    }
}

//! The REST bodies and answers. Every field of a body is optional, so a missing
//! one gets the profile's own answer instead of a generic 422.

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub struct SignupBody {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResendBody {
    pub email: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UpdateAccessBody {
    /// Spelled as the original client spells it.
    #[serde(rename = "acessToken", alias = "accessToken")]
    pub acess_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyQuery {
    pub email: Option<String>,
    pub token: Option<String>,
    pub source: Option<String>,
}

/// `{success, message}` answers (success is a number in this API).
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub success: i32,
    pub message: &'static str,
}

/// `{message}` answers (logout, update-access-token).
#[derive(Debug, Serialize)]
pub struct Note {
    pub message: &'static str,
}

//! The REST bodies and answers. Every field of a body is optional, so a missing
//! one gets the profile's own answer instead of a generic 422.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::profiles::kit::present;

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SignupBody {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    /// `app`: the mail carries a code to type in the app; anything else: a link.
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResendBody {
    pub email: Option<String>,
    /// `app`: the mail carries a code to type in the app; anything else: a link.
    pub source: Option<String>,
}

/// `/update-access-token`. Two fields rather than a serde alias: with an alias,
/// a body carrying both spellings is refused as a "duplicate field".
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateAccessBody {
    /// Spelled as the original client spells it; wins when both are sent.
    #[serde(rename = "acessToken")]
    pub acess_token: Option<String>,
    /// The spelling a corrected client would use.
    #[serde(rename = "accessToken")]
    pub access_token: Option<String>,
}

impl UpdateAccessBody {
    /// The token sent, under either spelling.
    pub fn token(&self) -> Option<&str> {
        present(&self.acess_token).or_else(|| present(&self.access_token))
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The account's email.
    pub email: Option<String>,
    /// The token of the verification mail's link (or its code).
    pub token: Option<String>,
    /// `app`: answer JSON (`{success:1, message}`) instead of the web page.
    pub source: Option<String>,
}

/// `{success, message}` answers (success is a number in this API).
#[derive(Debug, Serialize, ToSchema)]
pub struct Outcome {
    pub success: i32,
    pub message: &'static str,
}

/// A refusal of the REST routes (`error.rs`): `{success, message}` with the
/// original's numeric `success` (0, -1 or -2); a login without email or
/// password says `msg` instead of `message`, and `/update-access-token` answers
/// `{message}` alone. Only described, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refusal {
    pub success: Option<i32>,
    pub message: Option<String>,
    pub msg: Option<String>,
}

/// `{message}` answers (logout, update-access-token).
#[derive(Debug, Serialize, ToSchema)]
pub struct Note {
    pub message: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_the_access_token_are_accepted_together() {
        let body = |v| serde_json::from_value::<UpdateAccessBody>(v).unwrap();
        let both = body(serde_json::json!({"acessToken": "a", "accessToken": "b"}));
        assert_eq!(both.token(), Some("a"));
        let fixed = body(serde_json::json!({"accessToken": "b"}));
        assert_eq!(fixed.token(), Some("b"));
        let blank = body(serde_json::json!({"acessToken": " ", "accessToken": "b"}));
        assert_eq!(blank.token(), Some("b"));
    }
}

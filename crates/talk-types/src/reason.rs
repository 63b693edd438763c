//! Every reason code Talk answers with, in one place: its code on the wire,
//! its class ([`ErrorKind`]: the HTTP status, gRPC code and VoIPBIN status)
//! and the sentence a caller gets when the call site has nothing more exact
//! to say. A call site names a [`Reason`]; it never spells a code.

use std::borrow::Cow;

use crate::error::ErrorKind;

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $kind:ident, $message:literal;)*) => {
        /// A reason code (see the module documentation).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $name,)*
        }

        impl Reason {
            /// Every reason.
            pub const ALL: &'static [Reason] = &[$(Self::$name,)*];

            /// The code on the wire (`error.reason`).
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$name => $code,)*
                }
            }

            /// Its class of error.
            pub fn kind(self) -> ErrorKind {
                match self {
                    $(Self::$name => ErrorKind::$kind,)*
                }
            }

            /// The default sentence.
            pub fn message(self) -> &'static str {
                match self {
                    $(Self::$name => $message,)*
                }
            }
        }
    };
}

reasons! {
    // 400: the request is malformed or breaks a rule.
    /// A field that must be a UUID is not one.
    InvalidId = "INVALID_ID", InvalidArgument, "An id is not a valid UUID.";
    /// The body is not the JSON the route takes.
    InvalidJsonBody = "INVALID_JSON_BODY", InvalidArgument, "The request body is not valid JSON.";
    /// A query parameter has a value it cannot take.
    InvalidRequestParameter = "INVALID_REQUEST_PARAMETER", InvalidArgument, "A query parameter is invalid.";
    /// A required query parameter is missing.
    MissingRequestParameter = "MISSING_REQUEST_PARAMETER", InvalidArgument, "A query parameter is missing.";
    /// A required field is missing.
    MissingField = "MISSING_FIELD", InvalidArgument, "A required field is missing.";
    /// A field is longer than allowed.
    FieldTooLong = "FIELD_TOO_LONG", InvalidArgument, "A field is too long.";
    /// Any other argument out of its range.
    InvalidArgument = "INVALID_ARGUMENT", InvalidArgument, "An argument is invalid.";
    /// The `Idempotency-Key` header is empty, too long or not visible ASCII.
    InvalidIdempotencyKey = "INVALID_IDEMPOTENCY_KEY", InvalidArgument, "The Idempotency-Key header is invalid.";
    /// A known path with a method it does not take.
    MethodNotAllowed = "METHOD_NOT_ALLOWED", InvalidArgument, "The method is not allowed on this path.";
    /// A username that breaks the rules.
    InvalidUsername = "INVALID_USERNAME", InvalidArgument, "The username is invalid.";
    /// A password that breaks the rules.
    InvalidPassword = "INVALID_PASSWORD", InvalidArgument, "The password is invalid.";
    /// Permission bits that do not exist.
    InvalidPermission = "INVALID_PERMISSION", InvalidArgument, "The permission is invalid.";
    /// Too many ids in one request.
    TooManyIds = "TOO_MANY_IDS", InvalidArgument, "Too many ids in one request.";
    /// Too many talks in one request.
    TooManyTalks = "TOO_MANY_TALKS", InvalidArgument, "Too many talks in one request.";
    /// A talk type or message type that does not exist.
    InvalidType = "INVALID_TYPE", InvalidArgument, "The type is invalid.";
    /// A participant owner type other than `agent`.
    InvalidOwnerType = "INVALID_OWNER_TYPE", InvalidArgument, "The owner type is invalid.";
    /// A participant list that does not fit the talk type.
    InvalidParticipants = "INVALID_PARTICIPANTS", InvalidArgument, "The participants do not fit the talk.";
    /// An agent id that names no agent of the customer.
    UnknownAgent = "UNKNOWN_AGENT", InvalidArgument, "An agent does not exist.";
    /// A participant role that cannot be given (`owner`, or none of the roles).
    InvalidRole = "INVALID_ROLE", InvalidArgument, "The role is invalid.";
    /// A talk that is not public, joined as if it were.
    NotPublic = "NOT_PUBLIC", InvalidArgument, "The talk is not public.";
    /// A message without text and without media.
    EmptyMessage = "EMPTY_MESSAGE", InvalidArgument, "A message needs text or media.";
    /// Text with characters a message may not carry.
    InvalidText = "INVALID_TEXT", InvalidArgument, "The text is invalid.";
    /// Text longer than a message may be.
    TextTooLong = "TEXT_TOO_LONG", InvalidArgument, "The text is too long.";
    /// A media attachment that is malformed.
    InvalidMedia = "INVALID_MEDIA", InvalidArgument, "A media attachment is invalid.";
    /// A media URL that is not an http(s) URL.
    InvalidUrl = "INVALID_URL", InvalidArgument, "A URL is invalid.";
    /// More media than a message may carry.
    TooManyMedias = "TOO_MANY_MEDIAS", InvalidArgument, "Too many media attachments.";
    /// A `parent_id` that is not a message of the same talk.
    InvalidParent = "INVALID_PARENT", InvalidArgument, "parent_id must be a message of the same talk.";
    /// An agent posting a system message.
    SystemMessageForbidden = "SYSTEM_MESSAGE_FORBIDDEN", InvalidArgument, "Agents cannot post system messages.";
    /// Something that is not an emoji or a known short name.
    InvalidEmoji = "INVALID_EMOJI", InvalidArgument, "The emoji is invalid.";
    /// More distinct emoji than a message may carry.
    TooManyReactions = "TOO_MANY_REACTIONS", InvalidArgument, "The message has too many distinct reactions.";
    /// An add, a join or a create past the most active participants a talk may have.
    TooManyParticipants = "TOO_MANY_PARTICIPANTS", InvalidArgument, "The talk has as many participants as it may have.";
    /// A create past the most live talks a customer may have.
    TooManyCustomerTalks = "TOO_MANY_CUSTOMER_TALKS", InvalidArgument, "The customer has as many talks as it may have.";
    /// A reply past the most replies a thread may have.
    TooManyReplies = "TOO_MANY_REPLIES", InvalidArgument, "The thread has as many replies as it may have.";
    /// A read position that is not a seq of the talk.
    InvalidSeq = "INVALID_SEQ", InvalidArgument, "The seq is invalid.";
    /// An access key's expiry that is not in the future, too far in it, or
    /// given twice (`expire` and `tm_expire`).
    InvalidExpire = "INVALID_EXPIRE", InvalidArgument, "The expiry is invalid.";
    // 429.
    /// Too many requests of one agent, customer, address or username.
    RateLimitExceeded = "RATE_LIMIT_EXCEEDED", ResourceExhausted, "Too many requests; retry later.";
    // 401.
    /// No credentials, or credentials that are not valid.
    AuthenticationRequired = "AUTHENTICATION_REQUIRED", Unauthenticated, "Authentication is required.";
    /// A login with a wrong username or password.
    InvalidCredentials = "INVALID_CREDENTIALS", Unauthenticated, "The provided credentials are invalid.";
    /// A token of an agent that logged out, changed its password or
    /// permission, or was deleted since it was issued.
    TokenRevoked = "TOKEN_REVOKED", Unauthenticated, "The token was revoked; log in again.";
    /// A refresh token that is unknown, expired, or was revoked.
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN", Unauthenticated, "The refresh token is invalid or expired; log in again.";
    /// A refresh token presented a second time: someone else may hold it, so
    /// every token of its agent is revoked.
    RefreshTokenReused = "REFRESH_TOKEN_REUSED", Unauthenticated, "The refresh token was already used; every token of the agent is revoked. Log in again.";
    // 403.
    /// The caller may not do this.
    PermissionDenied = "PERMISSION_DENIED", PermissionDenied, "You do not have permission to access this resource.";
    /// A WebSocket opened from a page of an origin not on the allow-list.
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED", PermissionDenied, "WebSocket connections from this origin are not allowed.";
    /// A change of another agent's message.
    NotMessageOwner = "NOT_MESSAGE_OWNER", PermissionDenied, "Only its author may change a message.";
    // 404.
    /// No such agent (of the caller's customer).
    AgentNotFound = "AGENT_NOT_FOUND", NotFound, "The agent does not exist.";
    /// No such access key (that the caller may see).
    AccessKeyNotFound = "ACCESSKEY_NOT_FOUND", NotFound, "The access key does not exist.";
    /// No such talk (that the caller may see).
    TalkNotFound = "TALK_NOT_FOUND", NotFound, "The talk does not exist.";
    /// No such participant.
    ParticipantNotFound = "PARTICIPANT_NOT_FOUND", NotFound, "The participant does not exist.";
    /// No such message (that the caller may see).
    MessageNotFound = "MESSAGE_NOT_FOUND", NotFound, "The message does not exist.";
    /// No such reaction of the caller.
    ReactionNotFound = "REACTION_NOT_FOUND", NotFound, "The reaction does not exist.";
    /// No such path.
    RouteNotFound = "ROUTE_NOT_FOUND", NotFound, "No such route.";
    // 409.
    /// A talk that is closed refuses new messages and participants.
    TalkClosed = "TALK_CLOSED", FailedPrecondition, "The talk is closed.";
    /// Closing a closed talk.
    TalkAlreadyClosed = "TALK_ALREADY_CLOSED", FailedPrecondition, "The talk is already closed.";
    /// Adding to or removing from a direct talk's pair.
    DirectTalkFixed = "DIRECT_TALK_FIXED", FailedPrecondition, "A direct talk's members are fixed.";
    /// Reopening a talk that is not closed.
    TalkNotClosed = "TALK_NOT_CLOSED", FailedPrecondition, "The talk is not closed.";
    /// An agent deleting itself.
    CannotDeleteSelf = "CANNOT_DELETE_SELF", FailedPrecondition, "An agent cannot delete itself.";
    /// The first request with this key has not finished.
    IdempotencyKeyInProgress = "IDEMPOTENCY_KEY_IN_PROGRESS", FailedPrecondition, "The first request with this Idempotency-Key is still in progress.";
    // 409 (VoIPBIN's ALREADY_EXISTS).
    /// A username another agent has.
    UsernameTaken = "USERNAME_TAKEN", AlreadyExists, "The username is taken.";
    // 413.
    /// A body over the limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", PayloadTooLarge, "The request body is too large.";
    // 422.
    /// A key used already with another request.
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", Unprocessable, "This Idempotency-Key was already used with a different request.";
    // 500.
    /// Anything the caller cannot fix; the detail is for the logs.
    Internal = "INTERNAL", Internal, "An internal error occurred.";
    // 503.
    /// A dependency is down: retry later.
    ServiceUnavailable = "SERVICE_UNAVAILABLE", Unavailable, "The service is unavailable; retry later.";
    /// The request took too long.
    RequestTimeout = "REQUEST_TIMEOUT", Unavailable, "The request took too long; retry later.";
}

impl From<Reason> for Cow<'static, str> {
    fn from(reason: Reason) -> Self {
        Cow::Borrowed(reason.code())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::Reason;

    #[test]
    fn codes_are_unique_upper_snake_case() {
        let mut seen = HashSet::new();
        for reason in Reason::ALL {
            let code = reason.code();
            assert!(seen.insert(code), "{code} twice");
            assert!(
                code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
            assert!(!reason.message().is_empty());
        }
    }
}

// Temporary stand-in while upstream.rs is written.
pub struct UpstreamSchemas;
pub struct Violation {
    pub pointer: String,
    pub message: String,
}
impl UpstreamSchemas {
    pub fn new() -> Self {
        UpstreamSchemas
    }
    pub fn validate(&self, _a: &str, _k: &str, _o: &serde_json::Value) -> Option<Vec<Violation>> {
        None
    }
}

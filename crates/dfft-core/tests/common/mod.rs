pub mod rfc6962;

terraform {
  required_version = ">= 1.6.3" # skip_s3_checksum below needs 1.6.3
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.11" # see terraform/README.md, "Provider version"
    }
  }
  # State in R2 through the S3 backend. Credentials come from
  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (an R2 API token); the
  # endpoint is passed at init: terraform init -backend-config=backend.hcl
  backend "s3" {
    bucket                      = "edgeforge-terraform-state"
    key                         = "production/terraform.tfstate"
    region                      = "auto"
    use_path_style              = true
    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}

# The API token comes from CLOUDFLARE_API_TOKEN, never from a file.
provider "cloudflare" {}

# This environment's KV, R2, Access, DNS. The zone's WAF and rate-limit
# rulesets are owned by environments/zone (one owner per zone phase); its
# api_hostnames must include this environment's api_hostname. The Workers
# route is owned by wrangler (workers/api/wrangler.toml).
module "edge_platform" {
  source             = "../../modules/edge-platform"
  account_id         = var.account_id
  zone_id            = var.zone_id
  zone_name          = var.zone_name
  environment        = "production"
  api_hostname       = var.api_hostname
  admin_email_domain = var.admin_email_domain
  admin_countries    = var.admin_countries
}

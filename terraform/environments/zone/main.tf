terraform {
  required_version = ">= 1.6.3" # skip_s3_checksum below needs 1.6.3
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.11" # see terraform/README.md, "Provider version"
    }
  }
  # State in R2 through the S3 backend, like the environments. One state
  # per zone: if staging and production ever live in different zones,
  # init a second copy with -backend-config="key=zone-<name>/terraform.tfstate".
  backend "s3" {
    bucket                      = "edgeforge-terraform-state"
    key                         = "zone/terraform.tfstate"
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

# The only owner of the zone's http_request_firewall_custom and
# http_ratelimit entry-point rulesets: their rules cover every
# environment's api hostname at once.
module "zone_rulesets" {
  source                    = "../../modules/zone-rulesets"
  zone_id                   = var.zone_id
  api_hostnames             = var.api_hostnames
  zone_plan                 = var.zone_plan
  bot_management_enabled    = var.bot_management_enabled
  api_rate_limit_per_minute = var.api_rate_limit_per_minute
}

terraform {
  required_version = ">= 1.6.0"
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.0"
    }
  }
  # State in R2 through the S3 backend. Credentials come from
  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (an R2 API token); the
  # endpoint is passed at init: terraform init -backend-config=backend.hcl
  backend "s3" {
    bucket                      = "edgeforge-terraform-state"
    key                         = "staging/terraform.tfstate"
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

module "edge_platform" {
  source             = "../../modules/edge-platform"
  account_id         = var.account_id
  zone_id            = var.zone_id
  environment        = "staging"
  api_hostname       = var.api_hostname
  api_worker_script  = "edgeforge-api-staging"
  admin_email_domain = var.admin_email_domain
  admin_countries    = var.admin_countries
}

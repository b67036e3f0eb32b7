terraform {
  # >= 1.6.3 like the roots (their S3 backend sets skip_s3_checksum).
  required_version = ">= 1.6.3"
  required_providers {
    cloudflare = {
      source = "cloudflare/cloudflare"
      # 5.11.0: first release in which every resource and attribute used
      # here applies cleanly (terraform/README.md, "Provider version").
      version = "~> 5.11"
    }
  }
}

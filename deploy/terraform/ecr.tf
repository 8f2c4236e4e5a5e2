# Where `make image` pushes the hub's image.
resource "aws_ecr_repository" "hotrow" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

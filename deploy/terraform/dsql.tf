# The Aurora DSQL cluster: bids, schema documents and the event log.
# Single-region; for multi-region add multi_region_properties and a peer.
resource "aws_dsql_cluster" "this" {
  deletion_protection_enabled = var.deletion_protection

  tags = {
    Name = var.name
  }
}

# Collaborators' cursors (rooms/cursors/dynamo): one item per socket and room,
# partition key "room", sort key "member" ("user#connection"), expiring
# through DynamoDB's TTL on "expires_at" (epoch seconds). Issue #12 shards the
# partition key's value ("room#shard"); the attribute names stay.
resource "aws_dynamodb_table" "cursors" {
  name         = "${var.name}-cursors"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "room"
  range_key    = "member"

  attribute {
    name = "room"
    type = "S"
  }

  attribute {
    name = "member"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
}

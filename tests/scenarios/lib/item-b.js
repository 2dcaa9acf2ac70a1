'use strict'
// The second class named `Item`, defined in another file (see item-a.js).
class Item {
  constructor (id, payload) {
    this.id = id
    this.payload = payload
  }
}
module.exports = { Item }

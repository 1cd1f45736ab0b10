package stock

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// CheckInvariants reports every way products and reservations break the rules that keep stock exact, or nil.
// It is meant for a settled system — no delivery or sweep in flight — and for every reservation that has a
// line on one of the products (lines on other SKUs are ignored):
//
//   - nothing is negative, and a SKU's reserved stock is the sum of its holds;
//   - the holds on a SKU are exactly the lines of its open (RESERVED or EXPIRING) reservations: every such line
//     has a hold of its quantity, and no other order holds anything;
//   - a SKU's committed stock is the sum of the lines of its COMMITTED (shipped) reservations.
//
// The stock ever received (available + reserved + committed) is not checked: only the caller knows it.
func CheckInvariants(products []Product, reservations []Reservation) error {
	open := map[string]map[string]int{} // sku → order → quantity an open reservation holds
	committed := map[string]int{}       // sku → quantity shipped
	for _, r := range reservations {
		for _, l := range r.Lines {
			switch r.Status {
			case Reserved, Expiring:
				if open[l.SKU] == nil {
					open[l.SKU] = map[string]int{}
				}
				open[l.SKU][r.OrderID] += l.Quantity
			case Committed:
				committed[l.SKU] += l.Quantity
			}
		}
	}
	var errs []error
	for _, p := range products {
		if p.Available < 0 || p.Reserved < 0 || p.Committed < 0 {
			errs = append(errs, fmt.Errorf("%s: negative stock (available %d, reserved %d, committed %d)", p.SKU, p.Available, p.Reserved, p.Committed))
		}
		var held int
		for _, orderID := range slices.Sorted(maps.Keys(p.Holds)) {
			h := p.Holds[orderID]
			held += h.Quantity
			if want, ok := open[p.SKU][orderID]; !ok {
				errs = append(errs, fmt.Errorf("%s: order %s holds %d without an open reservation", p.SKU, orderID, h.Quantity))
			} else if h.Quantity != want {
				errs = append(errs, fmt.Errorf("%s: order %s holds %d, its reservation %d", p.SKU, orderID, h.Quantity, want))
			}
		}
		if held != p.Reserved {
			errs = append(errs, fmt.Errorf("%s: reserved %d but the holds add up to %d", p.SKU, p.Reserved, held))
		}
		for _, orderID := range slices.Sorted(maps.Keys(open[p.SKU])) {
			if _, ok := p.Holds[orderID]; !ok {
				errs = append(errs, fmt.Errorf("%s: order %s is reserved but holds nothing", p.SKU, orderID))
			}
		}
		if committed[p.SKU] != p.Committed {
			errs = append(errs, fmt.Errorf("%s: committed %d but shipped reservations add up to %d", p.SKU, p.Committed, committed[p.SKU]))
		}
	}
	return errors.Join(errs...)
}

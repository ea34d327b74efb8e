package authz

// ForgetRoute deletes the series of a route that a reload removed, once no
// request of the old route table can count into them any more: a request
// still running counts into them, and one that would count only after the
// deletion counts under route="(removed)" instead, so the route's series do
// not come back and its late refusals are not lost.
func (m *Metrics) ForgetRoute(route string) {
	m.routes.Forget(route)
}

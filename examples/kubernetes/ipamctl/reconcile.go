package ipamctl

import (
	"k8s.io/apimachinery/pkg/types"
	clientworkqueue "k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// workqueue is the queue type of controller-runtime's handlers.
type workqueue = clientworkqueue.TypedRateLimitingInterface[reconcile.Request]

// requestFor returns the reconcile request of obj.
func requestFor(obj client.Object) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
}

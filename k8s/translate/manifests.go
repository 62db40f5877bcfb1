package translate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// maxManifestBytes bounds one manifest file.
const maxManifestBytes = 16 << 20

// LoadDir reads every .yaml, .yml and .json file of dir (not recursively) as
// Kubernetes manifests into an Input. Documents of kinds the translation does
// not read are skipped; a document that does not decode is an error naming
// its file and document.
func LoadDir(dir string) (*Input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("translate: read %s: %w", dir, err)
	}
	in := &Input{}
	var names []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if err := loadFile(in, n); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// LoadFile reads one manifest file into in.
func loadFile(in *Input, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("translate: %w", err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return fmt.Errorf("translate: read %s: %w", name, err)
	}
	if len(b) > maxManifestBytes {
		return fmt.Errorf("translate: %s is larger than %d bytes", name, maxManifestBytes)
	}
	return Decode(in, name, b)
}

// Decode adds the manifests of one multi-document YAML (or JSON) file to in.
func Decode(in *Input, name string, b []byte) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for doc := 1; ; doc++ {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("translate: %s: document %d: %w", name, doc, err)
		}
		if len(bytes.TrimSpace(d)) == 0 {
			continue
		}
		if err := decodeDoc(in, d); err != nil {
			return fmt.Errorf("translate: %s: document %d: %w", name, doc, err)
		}
	}
}

// decodeDoc decodes one document by its apiVersion and kind.
func decodeDoc(in *Input, d []byte) error {
	var tm struct {
		APIVersion string    `json:"apiVersion"`
		Kind       string    `json:"kind"`
		Items      []rawItem `json:"items"`
	}
	if err := yaml.Unmarshal(d, &tm); err != nil {
		return err
	}
	if tm.Kind == "" {
		// An empty document (only comments, or null) is no object.
		var v any
		if err := yaml.Unmarshal(d, &v); err == nil && v == nil {
			return nil
		}
		return fmt.Errorf("no kind")
	}
	group, _, _ := strings.Cut(tm.APIVersion, "/")
	if !strings.Contains(tm.APIVersion, "/") {
		group = ""
	}
	if strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		for _, it := range tm.Items {
			if err := decodeDoc(in, it); err != nil {
				return err
			}
		}
		return nil
	}
	into := func(p any) error {
		if err := yaml.UnmarshalStrict(d, p); err != nil {
			return fmt.Errorf("%s: %w", tm.Kind, err)
		}
		// As kubectl does, a namespaced object without a namespace is in "default".
		if o, ok := p.(metav1.Object); ok && o.GetNamespace() == "" && tm.Kind != "GatewayClass" && tm.Kind != "Namespace" {
			o.SetNamespace("default")
		}
		return nil
	}
	switch group + "/" + tm.Kind {
	case gwv1.GroupName + "/GatewayClass":
		var o gwv1.GatewayClass
		err := into(&o)
		in.GatewayClasses = append(in.GatewayClasses, o)
		return err
	case gwv1.GroupName + "/Gateway":
		var o gwv1.Gateway
		err := into(&o)
		in.Gateways = append(in.Gateways, o)
		return err
	case gwv1.GroupName + "/ListenerSet":
		var o gwv1.ListenerSet
		err := into(&o)
		in.ListenerSets = append(in.ListenerSets, o)
		return err
	case gwv1.GroupName + "/HTTPRoute":
		var o gwv1.HTTPRoute
		err := into(&o)
		in.HTTPRoutes = append(in.HTTPRoutes, o)
		return err
	case gwv1.GroupName + "/GRPCRoute":
		var o gwv1.GRPCRoute
		err := into(&o)
		in.GRPCRoutes = append(in.GRPCRoutes, o)
		return err
	case gwv1.GroupName + "/TCPRoute":
		var o gwv1.TCPRoute
		err := into(&o)
		in.TCPRoutes = append(in.TCPRoutes, o)
		return err
	case gwv1.GroupName + "/TLSRoute":
		var o gwv1.TLSRoute
		err := into(&o)
		in.TLSRoutes = append(in.TLSRoutes, o)
		return err
	case gwv1.GroupName + "/ReferenceGrant":
		var o gwv1.ReferenceGrant
		err := into(&o)
		in.ReferenceGrants = append(in.ReferenceGrants, o)
		return err
	case "/Namespace":
		var o corev1.Namespace
		err := into(&o)
		in.Namespaces = append(in.Namespaces, o)
		return err
	case "/Service":
		var o corev1.Service
		err := into(&o)
		in.Services = append(in.Services, o)
		return err
	case "/Secret":
		var o corev1.Secret
		err := into(&o)
		for k, v := range o.StringData { // as the API server would store it
			if o.Data == nil {
				o.Data = map[string][]byte{}
			}
			o.Data[k] = []byte(v)
		}
		o.StringData = nil
		in.Secrets = append(in.Secrets, o)
		return err
	case "/ConfigMap":
		var o corev1.ConfigMap
		err := into(&o)
		in.ConfigMaps = append(in.ConfigMaps, o)
		return err
	case discoveryv1.GroupName + "/EndpointSlice":
		var o discoveryv1.EndpointSlice
		err := into(&o)
		in.EndpointSlices = append(in.EndpointSlices, o)
		return err
	case v1alpha1.Group + "/Backend":
		var o v1alpha1.Backend
		err := into(&o)
		in.Backends = append(in.Backends, o)
		return err
	case v1alpha1.Group + "/Policy":
		var o v1alpha1.Policy
		err := into(&o)
		in.Policies = append(in.Policies, o)
		return err
	case infv1.GroupName + "/InferencePool":
		var o infv1.InferencePool
		err := into(&o)
		in.InferencePools = append(in.InferencePools, o)
		return err
	case "/Pod":
		var o corev1.Pod
		err := into(&o)
		in.Pods = append(in.Pods, o)
		return err
	case v1alpha1.Group + "/Consumer":
		var o v1alpha1.Consumer
		err := into(&o)
		in.Consumers = append(in.Consumers, o)
		return err
	}
	return nil // a kind the translation does not read
}

// rawItem is one raw list item.
type rawItem []byte

// UnmarshalJSON keeps the item's bytes.
func (j *rawItem) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

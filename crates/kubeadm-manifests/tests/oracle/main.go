package main

import (
	"fmt"
	"os"
	"strings"

	v1 "k8s.io/api/core/v1"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	kubeadmscheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme"
	kubeadmapiv1 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubernetes/cmd/kubeadm/app/phases/controlplane"
	staticpodutil "k8s.io/kubernetes/cmd/kubeadm/app/util/staticpod"
	kubeconfigutil "k8s.io/kubernetes/cmd/kubeadm/app/util/kubeconfig"
	etcdphase "k8s.io/kubernetes/cmd/kubeadm/app/phases/etcd"
	kubeadmutil "k8s.io/kubernetes/cmd/kubeadm/app/util"
	configutil "k8s.io/kubernetes/cmd/kubeadm/app/util/config"
)

// usage: kh config.yaml outdir  (env PROXY_ENV="K=V;K2=V2")
func main() {
	_ = kubeadmscheme.Scheme
	_ = kubeadmapiv1.SchemeGroupVersion
	cfg, err := configutil.LoadInitConfigurationFromFile(os.Args[1], configutil.LoadOrDefaultConfigurationOptions{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	kubeadmapi.SetActiveTimeouts(cfg.Timeouts)
	var env []string
	if s := os.Getenv("PROXY_ENV"); s != "" {
		env = strings.Split(s, ";")
	} else {
		env = []string{}
	}
	specs := controlplane.GetStaticPodSpecs(&cfg.ClusterConfiguration, &cfg.LocalAPIEndpoint, kubeadmutil.GetProxyEnvVars(env))
	if cfg.Etcd.Local != nil {
		specs["etcd"] = etcdphase.GetEtcdPodSpec(&cfg.ClusterConfiguration, &cfg.LocalAPIEndpoint, cfg.NodeRegistration.Name, nil)
	}
	if pd := os.Getenv("PATCHES_DIR"); pd != "" {
		for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			pod, ok := specs[name]
			if !ok {
				continue
			}
			p2, err := staticpodutil.PatchStaticPod(&pod, pd, os.Stdout)
			if err != nil {
				fmt.Println("PATCHERR", err)
				continue
			}
			specs[name] = *p2
		}
	}
	server, _ := kubeadmutil.GetControlPlaneEndpoint(cfg.ControlPlaneEndpoint, &cfg.LocalAPIEndpoint)
	kc := kubeconfigutil.CreateWithCerts(server, cfg.ClusterName, "kubernetes-admin",
		[]byte("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIBkey0\n-----END RSA PRIVATE KEY-----\n"),
		[]byte("-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"))
	kb, _ := clientcmd.Write(*kc)
	os.WriteFile(os.Args[2]+"/admin.conf", kb, 0644)
	for name, pod := range specs {
		b, _ := kubeadmutil.MarshalToYaml(&pod, v1.SchemeGroupVersion)
		os.WriteFile(os.Args[2]+"/"+name+".yaml", b, 0644)
	}
}
